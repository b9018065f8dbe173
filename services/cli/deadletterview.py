"""How `weft deadletter` shows an entry: a stored weft.v1.DeadLetter with its
stream sequence. Pure: data in, text or dicts out."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timezone

from weft.cli.timespec import rfc3339
from weft.common import codec
from weft.v1 import bus_pb2

EXCERPT_CHARS = 120


@dataclass(frozen=True)
class Entry:
    seq: int
    stored: datetime
    letter: bus_pb2.DeadLetter | None   # None: the stored bytes are not a DeadLetter

    @classmethod
    def of(cls, seq: int, stored: datetime, data: bytes) -> "Entry":
        try:
            return cls(seq, stored, codec.decode(bus_pb2.DeadLetter, data))
        except codec.InvalidInput:
            return cls(seq, stored, None)


def printable(data: bytes, limit: int | None = EXCERPT_CHARS) -> str:
    text = "".join(c if c.isprintable() and c != "\ufffd" else "." for c in data.decode("utf-8", "replace"))
    if limit is not None and len(text) > limit:
        return text[:limit - 3] + "..."
    return text


def when(e: Entry) -> str:
    if e.letter is not None and e.letter.HasField("time"):
        return rfc3339(e.letter.time.ToDatetime(timezone.utc))
    return rfc3339(e.stored)


def origin(e: Entry) -> str:
    if e.letter is None:
        return "not a weft.v1.DeadLetter"
    return e.letter.origin or "unknown origin"


def as_dict(e: Entry, full: bool = False) -> dict:
    d = {"seq": e.seq, "time": when(e), "origin": origin(e)}
    if e.letter is None:
        return d
    d.update(subject=e.letter.subject, reason=e.letter.reason, payload_bytes=len(e.letter.payload),
             payload_excerpt=printable(e.letter.payload))
    if full:
        d.update(headers=dict(e.letter.headers), payload_base64=base64.b64encode(e.letter.payload).decode())
    return d


def text(e: Entry, full: bool = False) -> str:
    d = as_dict(e)
    head = f"#{e.seq}  {d['time']}  {d.get('subject') or '(no subject)'}  from {d['origin']}"
    if e.letter is None:
        return head
    lines = [head, f"    reason:  {e.letter.reason}"]
    if full:
        lines += [f"    header:  {k}: {v}" for k, v in sorted(e.letter.headers.items())]
        lines.append(f"    payload ({len(e.letter.payload)} bytes):")
        lines.append("      " + printable(e.letter.payload, limit=None))
    else:
        lines.append(f"    payload: {d['payload_excerpt']}  ({d['payload_bytes']} bytes)")
    return "\n".join(lines)
