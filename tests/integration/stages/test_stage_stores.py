"""The hot-path upserts on a real SQLite store, migrated like the stages migrate it:
counts add up across batches, times widen, a batch counted twice counts once."""
from datetime import datetime, timezone

from weft.common import intake, received, store
from weft.detect import store as detect_store
from weft.detect.app import DetectStage
from weft.detect.core.batches import KindCount
from weft.discovery import store as discovery_store
from weft.discovery.app import Discovery
from weft.discovery.core.workloads import WorkloadKey, WorkloadTally


def at(s: int) -> datetime:
    return datetime.fromtimestamp(1_700_000_000 + s, timezone.utc)


def engine_for(tmp_path, stage, migrations):
    eng = store.make_engine(f"sqlite:///{tmp_path / stage}.db")
    store.migrate(eng, stage, migrations)
    return eng


def test_detect_counts_add_up_and_a_redelivery_changes_nothing(tmp_path):
    eng = engine_for(tmp_path, "detect", DetectStage.migrations)
    def put(cid, counts):
        inp = intake.Input("events", "weft.events.v1.eks", cid, "weft.v1.EventBatch", None, False)
        row = received.row_for(inp, {}, cluster="eks", events=sum(c.events for c in counts.values()))
        return received.record(eng, detect_store.Received, row, detect_store.add_counts("eks", counts))
    assert put("b1", {"DNS_QUERY": KindCount(2, 5, at(3), at(7))})
    assert put("b2", {"DNS_QUERY": KindCount(1, 1, at(1), at(4)), "FILE_OPEN": KindCount(1, 2, at(9), at(9))})
    assert not put("b2", {"DNS_QUERY": KindCount(50, 50, at(0), at(99))})
    got = {c.kind: (c.events, c.occurrences, c.first_time, c.last_time) for c in detect_store.event_counts(eng)}
    assert got == {"DNS_QUERY": (3, 6, at(1), at(7)), "FILE_OPEN": (1, 2, at(9), at(9))}
    assert received.totals(eng, detect_store.Received) == {"events": {"inputs": 2, "events": 4}}


def test_discovery_workloads_fold_batches_once_each(tmp_path):
    eng = engine_for(tmp_path, "discovery", Discovery.migrations)
    key = WorkloadKey("aks", "payments", "api")
    assert discovery_store.record_batch(eng, "b1", {key: WorkloadTally("Deployment", "api", "AZURE", at(5), at(6), 3)})
    assert discovery_store.record_batch(eng, "b2", {key: WorkloadTally("", "", "AZURE", at(2), at(4), 2)})
    assert not discovery_store.record_batch(eng, "b1", {key: WorkloadTally("X", "x", "AZURE", at(0), at(9), 9)})
    [w] = discovery_store.workloads(eng)
    assert (w.kind, w.service_account, w.events, w.first_seen, w.last_seen) == ("Deployment", "api", 5, at(2), at(6))
