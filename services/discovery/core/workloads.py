"""Which workloads a batch of events shows, and how much of each: pure logic."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from weft.v1 import event_pb2


@dataclass(frozen=True)
class WorkloadKey:
    cluster: str
    namespace: str
    name: str


@dataclass
class WorkloadTally:
    kind: str
    service_account: str
    provider: str
    first_seen: datetime
    last_seen: datetime
    events: int = 0


def tally(batch: event_pb2.EventBatch) -> dict[WorkloadKey, WorkloadTally]:
    # Per event only integers are compared; datetimes are made once per workload (hot path).
    acc: dict[WorkloadKey, list] = {}  # key -> [event, first (s, ns), last (s, ns), events]
    for ev in batch.events:
        w = ev.workload
        if not w.name:
            continue  # host processes: not a workload
        key = WorkloadKey(ev.node.cluster or batch.node.cluster, w.namespace, w.name)
        first = (ev.time.seconds, ev.time.nanos)
        last = (ev.last_seen.seconds, ev.last_seen.nanos) if ev.HasField("last_seen") else first
        a = acc.get(key)
        if a is None:
            acc[key] = [ev, first, last, max(ev.count, 1)]
            continue
        a[1], a[2] = min(a[1], first), max(a[2], last)
        a[3] += max(ev.count, 1)
    return {key: WorkloadTally(ev.workload.kind, ev.workload.service_account,
                               event_pb2.Node.Provider.Name(ev.node.provider or batch.node.provider),
                               _datetime(*first), _datetime(*last), n)
            for key, (ev, first, last, n) in acc.items()}


def _datetime(seconds: int, nanos: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc).replace(microsecond=nanos // 1000)
