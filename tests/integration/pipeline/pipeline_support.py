"""Reading back what landed in JetStream, for the pipeline tests."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import nats

from weft.common import codec, subjects
from weft.v1 import bus_pb2, event_pb2

DATA = Path(__file__).resolve().parents[2] / "data"
RECORDED = DATA / "recorded-events.jsonl"


async def stream_events(url: str, min_events: int, timeout: float = 15.0) -> list[event_pb2.RuntimeEvent]:
    """Every event in WEFT_EVENTS, once at least min_events are there."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        while True:
            info = await js.stream_info("WEFT_EVENTS")
            events = []
            if info.state.messages:
                sub = await js.subscribe(subjects.all_of(subjects.EVENTS), ordered_consumer=True)
                for _ in range(info.state.messages):
                    m = await sub.next_msg(timeout=5)
                    events.extend(codec.decode(event_pb2.EventBatch, m.data).events)
                await sub.unsubscribe()
            if len(events) >= min_events or asyncio.get_running_loop().time() > deadline:
                return events
            await asyncio.sleep(0.1)
    finally:
        await nc.close()


async def dead_letters(url: str, min_count: int, timeout: float = 10.0) -> list[bus_pb2.DeadLetter]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        while True:
            info = await js.stream_info("WEFT_DEADLETTER")
            if info.state.messages >= min_count or asyncio.get_running_loop().time() > deadline:
                out = []
                if info.state.messages:
                    sub = await js.subscribe(subjects.DEADLETTER, ordered_consumer=True)
                    for _ in range(info.state.messages):
                        m = await sub.next_msg(timeout=5)
                        out.append(codec.decode(bus_pb2.DeadLetter, m.data))
                    await sub.unsubscribe()
                return out
            await asyncio.sleep(0.1)
    finally:
        await nc.close()


def recorded() -> list[dict]:
    return [json.loads(l) for l in RECORDED.read_text().splitlines() if l.strip()]
