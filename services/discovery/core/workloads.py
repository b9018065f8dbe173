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


def tally(batch: event_pb2.EventBatch, cluster: str) -> dict[WorkloadKey, WorkloadTally]:
    """Per event this reads the workload as bytes (one C call, the dict key), its
    time and count; each distinct workload is decoded once (hot path)."""
    acc: dict[bytes, list] = {}  # workload bytes -> [event, first second, last second, events]
    for ev in batch.events:
        raw = ev.workload.SerializeToString(deterministic=True)
        secs = ev.time.seconds
        a = acc.get(raw)
        if a is None:
            acc[raw] = [ev, secs, secs, ev.count or 1]
        else:
            if secs < a[1]:
                a[1] = secs
            elif secs > a[2]:
                a[2] = secs
            a[3] += ev.count or 1
    out: dict[WorkloadKey, WorkloadTally] = {}
    for ev, first, last, n in acc.values():
        w = ev.workload
        if not w.name:
            continue  # host processes: not a workload
        key = WorkloadKey(ev.node.cluster or cluster, w.namespace, w.name)
        t = out.get(key)
        if t is None:
            out[key] = WorkloadTally(w.kind, w.service_account,
                                     event_pb2.Node.Provider.Name(ev.node.provider or batch.node.provider),
                                     _at(first), _at(last), n)
        else:  # the same workload under two pods or labels
            t.first_seen, t.last_seen = min(t.first_seen, _at(first)), max(t.last_seen, _at(last))
            t.events += n
    return out


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)
