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
    out: dict[WorkloadKey, WorkloadTally] = {}
    for ev in batch.events:
        w = ev.workload
        if not w.name:
            continue  # host processes: not a workload
        cluster = ev.node.cluster or batch.node.cluster
        key = WorkloadKey(cluster, w.namespace, w.name)
        seen = ev.time.ToDatetime(tzinfo=timezone.utc)
        last = ev.last_seen.ToDatetime(tzinfo=timezone.utc) if ev.HasField("last_seen") else seen
        t = out.get(key)
        if t is None:
            t = out[key] = WorkloadTally(w.kind, w.service_account,
                                         event_pb2.Node.Provider.Name(ev.node.provider or batch.node.provider),
                                         seen, last)
        t.first_seen, t.last_seen = min(t.first_seen, seen), max(t.last_seen, last)
        t.events += max(ev.count, 1)
    return out
