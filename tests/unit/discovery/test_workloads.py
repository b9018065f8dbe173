"""discovery's workload tally: one row per workload a batch shows, counts and times."""
from datetime import datetime, timezone

from weft.discovery.core.workloads import WorkloadKey, tally
from weft.v1 import event_pb2

E = event_pb2.RuntimeEvent


def ev(sec: int, name: str, pod: str = "p1", count: int = 0, cluster: str = "") -> E:
    e = E(event_id=f"e{sec}", kind=E.FILE_OPEN, count=count,
          node=event_pb2.Node(cluster=cluster, provider=event_pb2.Node.AZURE),
          workload=event_pb2.Workload(namespace="payments", name=name, pod=pod, kind="Deployment",
                                      service_account="api"))
    e.time.FromSeconds(1_700_000_000 + sec)
    return e


def test_events_of_one_workload_fold_into_one_tally_across_pods():
    batch = event_pb2.EventBatch(events=[ev(5, "api", count=3), ev(1, "api"), ev(2, "api", pod="p2"),
                                         ev(3, ""), ev(4, "db", cluster="other")])
    got = tally(batch, "aks")
    at = lambda s: datetime.fromtimestamp(1_700_000_000 + s, timezone.utc)  # noqa: E731
    api = got[WorkloadKey("aks", "payments", "api")]
    assert (api.events, api.first_seen, api.last_seen) == (5, at(1), at(5))
    assert (api.kind, api.service_account, api.provider) == ("Deployment", "api", "AZURE")
    assert set(got) == {WorkloadKey("aks", "payments", "api"), WorkloadKey("other", "payments", "db")}
