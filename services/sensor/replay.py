"""The replay source: recorded JSON Lines of weft.v1.RuntimeEvent, at recorded
or accelerated pace. Lines that are not events become rejects (dead letters)."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import AsyncIterator, BinaryIO, Iterator

from weft.common import codec
from weft.v1 import event_pb2


@dataclass
class Line:
    number: int
    raw: bytes
    event: event_pb2.RuntimeEvent | None = None
    error: str = ""


def read_lines(f: BinaryIO) -> Iterator[Line]:
    for n, raw in enumerate(f, 1):
        raw = raw.rstrip(b"\r\n")
        if not raw.strip():
            continue
        try:
            yield Line(n, raw, event=codec.event_from_json(raw))
        except codec.InvalidInput as e:
            yield Line(n, raw, error=str(e))


def delay_before(ev: event_pb2.RuntimeEvent, first_event_ns: int, started: float, speed: float) -> float:
    """Seconds to wait so that `ev` goes out at its recorded offset divided by speed."""
    if speed <= 0:
        return 0.0
    offset = (ev.time.ToNanoseconds() - first_event_ns) / 1e9 / speed
    return max(0.0, started + offset - time.monotonic())


async def batches(f: BinaryIO, *, speed: float = 0.0, max_batch: int = 500,
                  max_wait: float = 0.2) -> AsyncIterator[tuple[list[event_pb2.RuntimeEvent], list[Line]]]:
    """Yield (events, rejected lines) groups: at most max_batch events, and never
    holding an event longer than max_wait when pacing."""
    pending: list[event_pb2.RuntimeEvent] = []
    bad: list[Line] = []
    first_ns, started, oldest = None, time.monotonic(), time.monotonic()
    for line in read_lines(f):
        if line.event is None:
            bad.append(line)
            continue
        if first_ns is None:
            first_ns = line.event.time.ToNanoseconds()
        wait = delay_before(line.event, first_ns, started, speed)
        if wait > 0 and pending and (wait > max_wait or time.monotonic() - oldest > max_wait):
            yield pending, bad
            pending, bad = [], []
        if wait > 0:
            await asyncio.sleep(wait)
        if not pending:
            oldest = time.monotonic()
        pending.append(line.event)
        if len(pending) >= max_batch:
            yield pending, bad
            pending, bad = [], []
            await asyncio.sleep(0)
    if pending or bad:
        yield pending, bad
