"""An event batch, split into the events the contract accepts and the ones it
refuses, and the per-kind counts detect keeps for each cluster."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from weft.common import codec, subjects
from weft.v1 import event_pb2

Kind = event_pb2.RuntimeEvent.Kind


@dataclass(frozen=True)
class Rejected:
    """One refused event, wrapped as a one-event batch so a replay is a valid batch again."""
    batch: event_pb2.EventBatch
    reason: str


@dataclass(frozen=True)
class SplitBatch:
    cluster: str
    node: str
    events: list[event_pb2.RuntimeEvent]
    rejected: list[Rejected]


@dataclass(frozen=True)
class KindCount:
    events: int
    occurrences: int
    first_time: datetime
    last_time: datetime


def split_valid(batch: event_pb2.EventBatch, subject: str) -> SplitBatch:
    good, rejected = [], []
    for i, ev in enumerate(batch.events):
        try:
            codec.check_event(ev)
        except codec.InvalidInput as e:
            alone = event_pb2.EventBatch(batch_id=batch.batch_id, sensor_id=batch.sensor_id,
                                         node=batch.node, events=[ev])
            reason = f"event {i} ({ev.event_id or 'no id'}) of batch {batch.batch_id or '?'}: {e}"
            rejected.append(Rejected(alone, reason))
        else:
            good.append(ev)
    cluster = batch.node.cluster or subjects.untoken(subject.split(".", 3)[-1])
    return SplitBatch(cluster, batch.node.name, good, rejected)


def count_by_kind(events: list[event_pb2.RuntimeEvent]) -> dict[str, KindCount]:
    # Per event only integers are compared; datetimes are made once per kind (hot path).
    acc: dict[int, list] = {}  # kind -> [events, occurrences, first (s, ns), last (s, ns)]
    for ev in events:
        first = (ev.time.seconds, ev.time.nanos)
        last = (ev.last_seen.seconds, ev.last_seen.nanos) if ev.HasField("last_seen") else first
        a = acc.get(ev.kind)
        if a is None:
            acc[ev.kind] = [1, max(ev.count, 1), first, last]
            continue
        a[0] += 1
        a[1] += max(ev.count, 1)
        a[2], a[3] = min(a[2], first), max(a[3], last)
    return {Kind.Name(k): KindCount(n, occ, _datetime(*f), _datetime(*l)) for k, (n, occ, f, l) in acc.items()}


def _datetime(seconds: int, nanos: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc).replace(microsecond=nanos // 1000)


def merge(a: KindCount, b: KindCount) -> KindCount:
    return KindCount(a.events + b.events, a.occurrences + b.occurrences,
                     min(a.first_time, b.first_time), max(a.last_time, b.last_time))
