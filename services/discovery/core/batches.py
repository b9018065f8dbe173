"""Validating an uploaded event batch: pure logic, no I/O."""
from __future__ import annotations

from dataclasses import dataclass, field

from weft.common import codec
from weft.v1 import event_pb2


@dataclass
class Checked:
    """A batch split into what may be published and what must be dead-lettered."""
    batch: event_pb2.EventBatch
    data: bytes                                   # bytes to publish (the original when all good)
    rejected: list[tuple[event_pb2.RuntimeEvent, str]] = field(default_factory=list)


def check_batch(data: bytes) -> Checked:
    """Decode and validate; raises codec.InvalidInput when the batch itself is unusable.
    Runs for every uploaded event: a quick test in one expression, the reasons only for
    the events that fail it."""
    batch = codec.decode(event_pb2.EventBatch, data)
    if not batch.batch_id:
        raise codec.InvalidInput("EventBatch has no batch_id")
    valid = codec.VALID_KINDS
    rejected = [(i, why) for i, ev in enumerate(batch.events)
                if not (ev.kind in valid and ev.event_id and ev.HasField("time")) and (why := codec.refusal(ev))]
    if not rejected:
        return Checked(batch, data)
    refused = {i for i, _ in rejected}
    good = [ev for i, ev in enumerate(batch.events) if i not in refused]
    clean = event_pb2.EventBatch(batch_id=batch.batch_id, sensor_id=batch.sensor_id, events=good)
    clean.node.CopyFrom(batch.node)
    return Checked(clean, clean.SerializeToString(), [(batch.events[i], why) for i, why in rejected])


def cluster_of(batch: event_pb2.EventBatch, hello_node: event_pb2.Node) -> str:
    """The subject's cluster: the sensor's announced identity, never the payload's."""
    return hello_node.cluster or batch.node.cluster or "unknown"
