"""Bus data the stages read, and polling with a deadline (never fixed sleeps)."""
from __future__ import annotations

import asyncio
import contextlib
import inspect
import time

from weft.common import bus, codec, subjects
from weft.v1 import bus_pb2, event_pb2

NODE = event_pb2.Node(cluster="eks", provider=event_pb2.Node.AWS, region="us-east-1", name="node-1")


def make_event(i: int, kind: int = event_pb2.RuntimeEvent.NETWORK_CONNECT, **fields) -> event_pb2.RuntimeEvent:
    ev = event_pb2.RuntimeEvent(event_id=f"ev-{i}", kind=kind, count=1, node=NODE, **fields)
    ev.time.FromSeconds(1_700_000_000 + i)
    ev.network.dst_ip, ev.network.dst_port = "10.0.0.7", 443
    return ev


def make_batch(ids, sensor: str = "sensor-1") -> event_pb2.EventBatch:
    return codec.make_batch([make_event(i) for i in ids], sensor, NODE)


async def publish_batch(js, batch: event_pb2.EventBatch, cluster: str = "eks"):
    return await bus.publish(js, subjects.events(cluster), batch, msg_id=batch.batch_id)


def raw_record(fmt: str = "guardduty", data: bytes = b'{"Id": "f-1"}') -> bus_pb2.RawRecord:
    return bus_pb2.RawRecord(format=fmt, source="test", content_type="application/json", data=data)


async def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):
    """Poll until `predicate()` (sync or async) is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


async def dead_letters(js) -> list[tuple[int, bus_pb2.DeadLetter]]:
    info = await js.stream_info("WEFT_DEADLETTER")
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        if info.state.messages == 0:
            break
        raw = await js.get_msg("WEFT_DEADLETTER", seq)
        out.append((seq, codec.decode(bus_pb2.DeadLetter, raw.data)))
    return out


@contextlib.asynccontextmanager
async def running(stage):
    await stage.start()
    try:
        yield stage
    finally:
        await stage.stop()
