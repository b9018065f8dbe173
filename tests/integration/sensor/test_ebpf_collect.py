"""collect(): the async face of the collector, batching what poll() returns."""

from __future__ import annotations

from weft.sensor.ebpf import EbpfConfig, collect
from weft.v1 import event_pb2


class FakeCollector:
    def __init__(self, polls):
        self.polls, self.started, self.closed = list(polls), False, False

    def start(self):
        self.started = True

    def poll(self):
        return self.polls.pop(0) if self.polls else []

    def close(self):
        self.closed = True


async def test_batches_are_non_empty_and_at_most_max_batch():
    events = [event_pb2.RuntimeEvent(event_id=str(i)) for i in range(1200)]
    fake = FakeCollector([events[:1100], [], [], events[1100:]])
    config = EbpfConfig(node=event_pb2.Node(name="n"), flush_interval=0.001, max_batch=500)
    batches = []
    stream = collect(config, collector=fake)
    async for batch in stream:
        batches.append(batch)
        if sum(map(len, batches)) == 1200:
            break
    await stream.aclose()
    assert [len(b) for b in batches] == [500, 500, 100, 100]
    assert [e.event_id for b in batches for e in b] == [str(i) for i in range(1200)]
    assert fake.started and fake.closed
