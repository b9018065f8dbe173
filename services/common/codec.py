"""Protobuf on the wire, canonical JSON at the edges, and the headers weft sets.

Readers accept both forms the canonical JSON mapping allows (64-bit integers as
strings or numbers, zero values absent or present).
"""
from __future__ import annotations

import hashlib
import json

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from weft.v1 import event_pb2

H_MSG_ID = "Nats-Msg-Id"
H_TYPE = "weft-type"

MAX_LINE_BYTES = 1 << 20  # one JSON event line; anything longer is refused
# Built once: checked per event on every hot path.
VALID_KINDS = frozenset(event_pb2.RuntimeEvent.Kind.values()) - {event_pb2.RuntimeEvent.KIND_UNSPECIFIED}


class InvalidInput(ValueError):
    """Input that cannot become a message; `str()` is the reason for a dead letter."""


def type_name(msg: Message) -> str:
    return msg.DESCRIPTOR.full_name


def decode(cls: type[Message], data: bytes) -> Message:
    msg = cls()
    try:
        msg.ParseFromString(data)
    except (DecodeError, ValueError) as e:
        raise InvalidInput(f"undecodable {cls.DESCRIPTOR.full_name}: {e}") from None
    return msg


def check_event(ev: event_pb2.RuntimeEvent) -> None:
    """The contract's invariants for one event. The per-event batch checks (discovery's
    and detect's core/batches.py) pass an event on a quick inline test of these same
    fields and ask `refusal` only when it fails: a new invariant belongs there too."""
    if ev.kind == event_pb2.RuntimeEvent.KIND_UNSPECIFIED:
        raise InvalidInput("event has no kind")
    if ev.kind not in VALID_KINDS:
        raise InvalidInput(f"unknown event kind {ev.kind}")
    if not ev.event_id:
        raise InvalidInput("event has no eventId")
    if not ev.HasField("time"):
        raise InvalidInput(f"event {ev.event_id} has no time")


def refusal(ev: event_pb2.RuntimeEvent) -> str:
    """Why the contract refuses an event ("" if it accepts it): hot paths test the
    invariants inline and ask this only for the events that fail their quick test."""
    try:
        check_event(ev)
    except InvalidInput as e:
        return str(e)
    return ""


def event_from_json(line: str | bytes) -> event_pb2.RuntimeEvent:
    if len(line) > MAX_LINE_BYTES:
        raise InvalidInput(f"event line of {len(line)} bytes exceeds {MAX_LINE_BYTES}")
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InvalidInput(f"invalid JSON: {e}") from None
    if not isinstance(obj, dict):
        raise InvalidInput(f"expected a JSON object, got {type(obj).__name__}")
    kind = obj.get("kind")
    if isinstance(kind, str) and kind not in event_pb2.RuntimeEvent.Kind.keys():
        raise InvalidInput(f"unknown event kind {kind!r}")
    ev = event_pb2.RuntimeEvent()
    try:
        json_format.ParseDict(obj, ev)
    except json_format.ParseError as e:
        raise InvalidInput(f"not a weft.v1.RuntimeEvent: {e}") from None
    if ev.count == 0:
        ev.count = 1
    check_event(ev)
    return ev


def event_to_json(ev: event_pb2.RuntimeEvent) -> str:
    return json.dumps(json_format.MessageToDict(ev), separators=(",", ":"), sort_keys=True)


def batch_id_of(sensor_id: str, events: list[event_pb2.RuntimeEvent]) -> str:
    """Content-derived id of a batch: the same events re-sent get the same id."""
    digest = hashlib.blake2b(sensor_id.encode(), digest_size=16)
    digest.update("".join([ev.event_id + "\0" for ev in events]).encode())   # each id, NUL-terminated
    return digest.hexdigest()


def make_batch(events: list[event_pb2.RuntimeEvent], sensor_id: str,
               node: event_pb2.Node | None = None) -> event_pb2.EventBatch:
    batch = event_pb2.EventBatch(batch_id=batch_id_of(sensor_id, events), sensor_id=sensor_id, events=events)
    if node is not None:
        batch.node.CopyFrom(node)
    return batch


_EVENTS_TAG = bytes([event_pb2.EventBatch.DESCRIPTOR.fields_by_name["events"].number << 3 | 2])


def encode_batch(events: list[event_pb2.RuntimeEvent], sensor_id: str,
                 node: event_pb2.Node | None = None) -> tuple[str, bytes]:
    """(batch id, serialized EventBatch) equal to make_batch's, without copying each
    event into a new message: the events' own bytes are framed as field `events`
    (protobuf parses concatenated fields as one message)."""
    bid = batch_id_of(sensor_id, events)
    head = event_pb2.EventBatch(batch_id=bid, sensor_id=sensor_id, node=node).SerializeToString()
    framed = [head]
    for ev in events:
        data = ev.SerializeToString()
        n = len(data)
        framed += (_FRAMES[n] if n < len(_FRAMES) else _EVENTS_TAG + _varint(n), data)
    return bid, b"".join(framed)


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_FRAMES = [_EVENTS_TAG + _varint(n) for n in range(4096)]   # tag and length of an event up to 4 KiB: looked up, not encoded
