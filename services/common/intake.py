"""What a stage received, decoded: the subject family it came from, its content id,
and the protobuf message its `weft-type` header (or its subject) says it carries.

Pure: no I/O. Raises codec.InvalidInput with the reason for anything that is not
the message its subject promises; the consumer dead-letters it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Mapping

from google.protobuf import descriptor_pool, empty_pb2, message_factory
from google.protobuf.message import Message

from weft.common import codec, subjects
from weft.v1 import bus_pb2, event_pb2

# The message each subject family carries, where the contract defines one already.
MESSAGE_OF_FAMILY: dict[str, type[Message]] = {
    "events": event_pb2.EventBatch,
    "signals": bus_pb2.RawRecord,
    "declarations": bus_pb2.RawRecord,
    "audit": bus_pb2.RawRecord,
}


@dataclass(frozen=True)
class Input:
    family: str            # "events", "signals", ... (second token of the subject)
    subject: str
    content_id: str        # Nats-Msg-Id, else a digest of the payload
    type_name: str
    message: Message
    skipped: bool          # no stage logic reads this family yet


def family(subject: str) -> str:
    parts = subject.split(".")
    if len(parts) < 3 or parts[0] != "weft" or parts[2] != subjects.V:
        raise codec.InvalidInput(f"{subject!r} is not a weft {subjects.V} subject")
    return parts[1]


def content_id(headers: Mapping[str, str] | None, data: bytes) -> str:
    msg_id = (headers or {}).get(codec.H_MSG_ID, "")
    return msg_id or hashlib.blake2b(data, digest_size=16).hexdigest()


def read(subject: str, headers: Mapping[str, str] | None, data: bytes) -> Input:
    fam = family(subject)
    declared = (headers or {}).get(codec.H_TYPE, "")
    expected = MESSAGE_OF_FAMILY.get(fam)
    if expected is not None:
        name = expected.DESCRIPTOR.full_name
        if declared and declared != name:
            raise codec.InvalidInput(f"{codec.H_TYPE} {declared} cannot travel on {subject} (expected {name})")
        msg = codec.decode(expected, data)
        check(msg)
        return Input(fam, subject, content_id(headers, data), name, msg, skipped=False)
    cls = _known_class(declared) or empty_pb2.Empty  # Empty still proves the bytes are protobuf
    msg = codec.decode(cls, data)
    return Input(fam, subject, content_id(headers, data), declared or "unknown", msg, skipped=True)


def check(msg: Message) -> None:
    if isinstance(msg, bus_pb2.RawRecord):
        if not msg.format:
            raise codec.InvalidInput("weft.v1.RawRecord has no format")
        if not msg.data:
            raise codec.InvalidInput(f"weft.v1.RawRecord ({msg.format}) has no data")
    elif isinstance(msg, event_pb2.EventBatch) and not msg.events:
        raise codec.InvalidInput("weft.v1.EventBatch has no events")


def _known_class(full_name: str) -> type[Message] | None:
    if not full_name:
        return None
    try:
        desc = descriptor_pool.Default().FindMessageTypeByName(full_name)
    except KeyError:
        return None
    return message_factory.GetMessageClass(desc)


@dataclass
class Tally:
    """What a stage has done with its input since it started (for `weft status`)."""
    handled: int = 0
    duplicates: int = 0
    skipped: int = 0
    deadlettered: int = 0
    events: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)
