"""detect's bus input: event batches are validated, their bad events dead-lettered
alone, and counted per cluster and kind — once, however often they are delivered."""
from __future__ import annotations

import asyncio

from nats.aio.msg import Msg

from weft.common import bus, intake, metrics, received, subjects
from weft.common.consuming import RecordingHandlers
from weft.detect import signals, store
from weft.detect.core import batches
from weft.v1 import bus_pb2, event_pb2


class Handlers(RecordingHandlers):
    async def on_input(self, m: Msg, inp: intake.Input) -> tuple[bool, int]:
        if isinstance(inp.message, bus_pb2.RawRecord) and inp.family == "signals":
            return await self.on_signal(m, inp)
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

    async def on_signal(self, m: Msg, inp: intake.Input) -> tuple[bool, int]:
        """A provider alert: OCSF out on weft.alerts.v1, its broken records dead-lettered.
        Published before it is recorded: a crash in between re-publishes under the
        same message ids, which JetStream stores once."""
        record = inp.message
        with self.span("", "", 1):
            converted = await asyncio.to_thread(signals.convert, record)
            for reason in converted.errors:
                await bus.dead_letter(self.stage.js, reason, f"detect consumer={m.metadata.consumer}",
                                      record.SerializeToString(), m.subject, m.headers)
            for alert in converted.alerts:
                await bus.publish(self.stage.js, subjects.ALERTS, alert, msg_id=f"alert-{alert.source}-{alert.id}")
            row = received.row_for(inp, {record.format: len(converted.alerts)})
            new = await asyncio.to_thread(received.record, self.stage.engine, store.Received, row,
                                          store.add_alerts(converted.alerts))
            if new:
                self.stage.tally.deadlettered += len(converted.errors)
        return new, 0
