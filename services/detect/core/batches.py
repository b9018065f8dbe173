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
class CountedBatch:
    cluster: str
    node: str
    accepted: int
    counts: dict[str, "KindCount"]
    rejected: list[Rejected]


@dataclass(frozen=True)
class KindCount:
    events: int
    occurrences: int
    first_time: datetime
    last_time: datetime


def count_batch(batch: event_pb2.EventBatch, subject: str) -> CountedBatch:
    """Validate and count in one pass, reading four fields per event: this runs for
    every event detect receives, so it touches as little of each message as it can."""
    acc: dict[int, list[int]] = {}  # kind -> [events, occurrences, first second, last second]
    rejected: list[Rejected] = []
    for i, ev in enumerate(batch.events):
        kind, secs = ev.kind, ev.time.seconds
        if not (kind in codec.VALID_KINDS and secs and ev.event_id) and (why := codec.refusal(ev)):
            rejected.append(_rejected(batch, i, ev, why))
            continue
        n = ev.count or 1
        a = acc.get(kind)
        if a is None:
            acc[kind] = [1, n, secs, secs]
        else:
            a[0] += 1
            a[1] += n
            if secs < a[2]:
                a[2] = secs
            elif secs > a[3]:
                a[3] = secs
    counts = {Kind.Name(k): KindCount(e, n, _at(f), _at(l)) for k, (e, n, f, l) in acc.items()}
    cluster = batch.node.cluster or subjects.untoken(subject.split(".", 3)[-1])
    return CountedBatch(cluster, batch.node.name, sum(c.events for c in counts.values()), counts, rejected)


def _rejected(batch: event_pb2.EventBatch, i: int, ev: event_pb2.RuntimeEvent, why: str) -> Rejected:
    alone = event_pb2.EventBatch(batch_id=batch.batch_id, sensor_id=batch.sensor_id, node=batch.node, events=[ev])
    return Rejected(alone, f"event {i} ({ev.event_id or 'no id'}) of batch {batch.batch_id or '?'}: {why}")


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)
