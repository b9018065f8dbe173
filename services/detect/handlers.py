"""detect's bus input: decode, dead-letter what the contract refuses, record the
rest once (a redelivery changes nothing), count events per cluster and kind."""
from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from nats.aio.msg import Msg

from weft.common import bus, codec, intake, metrics, tracing
from weft.detect import store
from weft.detect.core import batches
from weft.v1 import bus_pb2, event_pb2

if TYPE_CHECKING:
    from weft.detect.app import DetectStage


class Handlers:
    def __init__(self, stage: "DetectStage"):
        self.stage = stage

    async def handle(self, m: Msg) -> None:
        tally = self.stage.tally
        try:
            inp = intake.read(m.subject, m.headers, m.data)
        except codec.InvalidInput:
            tally.deadlettered += 1
            raise
        if await asyncio.to_thread(store.is_recorded, self.stage.engine, inp.family, inp.content_id):
            tally.duplicates += 1
            return
        if isinstance(inp.message, event_pb2.EventBatch):
            await self.on_batch(m, inp)
        else:
            await self.on_record(inp)

    async def on_batch(self, m: Msg, inp: intake.Input) -> None:
        batch: event_pb2.EventBatch = inp.message  # type: ignore[assignment]
        split = batches.split_valid(batch, m.subject)
        with _span(split.cluster, split.node, len(batch.events)):
            for r in split.rejected:
                await bus.dead_letter(self.stage.js, r.reason, f"detect consumer={m.metadata.consumer}",
                                      r.batch.SerializeToString(), m.subject, m.headers)
            counts = batches.count_by_kind(split.events)
            row = _row(inp, cluster=split.cluster, node=split.node, events=len(split.events),
                       rejected=len(split.rejected), kinds={k: c.events for k, c in counts.items()})
            new = await asyncio.to_thread(store.record, self.stage.engine, row, counts)
        self.stage.tally.deadlettered += len(split.rejected)
        self._count(new, inp, len(split.events))

    async def on_record(self, inp: intake.Input) -> None:
        fmt = inp.message.format if isinstance(inp.message, bus_pb2.RawRecord) else ""
        with _span("", "", 1):
            row = _row(inp, kinds={fmt: 1} if fmt else {})
            new = await asyncio.to_thread(store.record, self.stage.engine, row)
        self._count(new, inp, 0)

    def _count(self, new: bool, inp: intake.Input, events: int) -> None:
        tally = self.stage.tally
        if not new:
            tally.duplicates += 1
            return
        tally.handled += 1
        tally.skipped += inp.skipped
        tally.events += events
        if events:
            metrics.EVENTS.labels(service="detect").inc(events)


def _row(inp: intake.Input, kinds: dict[str, int], **fields) -> store.Received:
    return store.Received(family=inp.family, content_id=inp.content_id, subject=inp.subject,
                          type_name=inp.type_name, kinds=json.dumps(kinds, sort_keys=True),
                          skipped=inp.skipped, **fields)


def _span(cluster: str, node: str, size: int):
    return tracing.tracer("detect").start_as_current_span(
        "detect handle batch", attributes={"weft.cluster": cluster, "weft.node": node, "weft.batch.size": size})
