"""The sensor's buffer while the gateway is away: bounded, and what it drops is counted."""
import asyncio

from weft.common import codec
from weft.sensor.uplink import Uplink
from weft.v1 import event_pb2, sensor_pb2


def events(n: int, start: int) -> list[event_pb2.RuntimeEvent]:
    out = []
    for i in range(start, start + n):
        ev = event_pb2.RuntimeEvent(event_id=f"e{i}", kind=event_pb2.RuntimeEvent.FILE_OPEN, count=1)
        ev.time.FromSeconds(1_700_000_000 + i)
        out.append(ev)
    return out


def hello() -> sensor_pb2.Hello:
    return sensor_pb2.Hello(sensor_id="s1", node=event_pb2.Node(cluster="eks", name="n1"))


async def test_a_live_sensor_drops_the_oldest_batches_when_full_and_counts_their_events():
    up = Uplink("127.0.0.1:1", hello(), max_buffer=3, block_when_full=False)
    for i, n in enumerate((4, 5, 6, 7, 8)):
        await up.send_events(events(n, 100 * i))
    assert up.stats["overflow_batches"] == 2 and up.stats["overflow_events"] == 4 + 5
    kept = [codec.decode(event_pb2.EventBatch, m.batch.batch) for m in up.unacked.values()]
    assert [len(b.events) for b in kept] == [6, 7, 8]


async def test_a_replay_waits_for_room_instead_of_dropping():
    up = Uplink("127.0.0.1:1", hello(), max_buffer=2, block_when_full=True)
    await up.send_events(events(1, 0))
    await up.send_events(events(1, 1))
    third = asyncio.create_task(up.send_events(events(1, 2)))
    await asyncio.sleep(0.05)
    assert not third.done() and up.stats["overflow_batches"] == 0
    await up._acked(sensor_pb2.BatchAck(seq=1, stored=True))
    await asyncio.wait_for(third, 2)
    assert list(up.unacked) == [2, 3]


async def test_a_batch_too_large_for_the_bus_is_split_and_an_oversized_event_rejected():
    up = Uplink("127.0.0.1:1", hello(), max_buffer=100)
    big = events(6, 0)
    for ev in big:
        ev.process.args.append("x" * 1_500_000)
    huge = events(1, 50)[0]
    huge.process.args.append("y" * 9_000_000)
    await up.send_events(big + [huge])
    kinds = [m.WhichOneof("msg") for m in up.unacked.values()]
    sizes = [len(codec.decode(event_pb2.EventBatch, m.batch.batch).events) for m in up.unacked.values()
             if m.WhichOneof("msg") == "batch"]
    assert sum(sizes) == 6 and all(len(m.batch.batch) < 8 * 1024 * 1024 for m in up.unacked.values()
                                   if m.WhichOneof("msg") == "batch")
    [reject] = [m.reject for m in up.unacked.values() if m.WhichOneof("msg") == "reject"]
    assert "e50" in reject.reason and "exceeds the bus limit" in reject.reason
    assert kinds.count("reject") == 1
