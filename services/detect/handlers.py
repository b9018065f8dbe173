"""detect's bus input: event batches are validated, their bad events dead-lettered
alone, and counted per cluster and kind — once, however often they are delivered."""
from __future__ import annotations

import asyncio

from nats.aio.msg import Msg

from weft.common import bus, intake, metrics, received
from weft.common.consuming import RecordingHandlers
from weft.detect import store
from weft.detect.core import batches
from weft.v1 import event_pb2


class Handlers(RecordingHandlers):
    async def on_input(self, m: Msg, inp: intake.Input) -> tuple[bool, int]:
        if not isinstance(inp.message, event_pb2.EventBatch):
            return await super().on_input(m, inp)
        split = batches.count_batch(inp.message, m.subject)
        with self.span(split.cluster, split.node, len(inp.message.events)):
            # Dead letters first: their ids are content-derived, so a redelivery after a
            # crash re-sends them without duplicates, and none is lost.
            for r in split.rejected:
                await bus.dead_letter(self.stage.js, r.reason, f"detect consumer={m.metadata.consumer}",
                                      r.batch.SerializeToString(), m.subject, m.headers)
            row = received.row_for(inp, {k: c.events for k, c in split.counts.items()},
                                   cluster=split.cluster, node=split.node, events=split.accepted,
                                   rejected=len(split.rejected))
            new = await asyncio.to_thread(received.record, self.stage.engine, store.Received, row,
                                          store.add_counts(split.cluster, split.counts))
            if new:
                self.stage.tally.deadlettered += len(split.rejected)
                metrics.EVENTS.labels(service="detect").inc(split.accepted)
        return new, split.accepted
