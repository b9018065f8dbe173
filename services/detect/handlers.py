"""detect's bus input: event batches are validated, their bad events dead-lettered
alone, and counted per cluster and kind — once, however often they are delivered."""
from __future__ import annotations

import asyncio
import hashlib
import json

from nats.aio.msg import Msg

from weft.common import bus, codec, intake, metrics, received, subjects
from weft.common.consuming import RecordingHandlers
from weft.detect import signals, store
from weft.detect.core import batches
from weft.v1 import bus_pb2, event_pb2, inventory_pb2


class Handlers(RecordingHandlers):
    async def on_input(self, m: Msg, inp: intake.Input) -> tuple[bool, int]:
        if isinstance(inp.message, bus_pb2.RawRecord) and inp.family == "signals":
            return await self.on_signal(m, inp)
        if isinstance(inp.message, bus_pb2.IdentityChain):
            return await self.on_chain(m, inp)
        if isinstance(inp.message, inventory_pb2.AgentProfile):
            profile = json_field(inp.message.document_json, "AgentProfile")
            late = await asyncio.to_thread(self.stage.detecting.profile, profile)
            await self.detected(late)   # events it arrived too late for, judged now
            return await super().on_input(m, inp)
        if not isinstance(inp.message, event_pb2.EventBatch):
            return await super().on_input(m, inp)
        split = batches.count_batch(inp.message, m.subject)
        with self.span(split.cluster, split.node, len(inp.message.events)):
            # Dead letters and alerts before the record: their ids are content-derived, so a
            # crash in between (a replica killed) re-sends them on redelivery without
            # duplicates, and none is lost; an input recorded before is not judged again.
            judged = await asyncio.to_thread(self._judge_batch, inp)
            if judged is None:
                return False, split.accepted
            for r in split.rejected:
                await bus.dead_letter(self.stage.js, r.reason, f"detect consumer={m.metadata.consumer}",
                                      r.batch.SerializeToString(), m.subject, m.headers)
            stories, fired = judged
            await self.tell(stories)
            await self.detected(fired)
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
                if self.stage.inline:
                    found = [(json.loads(a.ocsf_json), ()) for a in converted.alerts]
                    await self.tell(await asyncio.to_thread(self.stage.storying.alerts, found))
        return new, 0

    async def on_chain(self, m: Msg, inp: intake.Input) -> tuple[bool, int]:
        """An identity chain from posture: stories resolve entities across providers through it."""
        chain = json_field(inp.message.chain_json, "IdentityChain")
        if self.stage.inline:    # replicas: every one reads every chain (correlating.py)
            await self.tell(await asyncio.to_thread(self.stage.storying.chain, chain))
        return await super().on_input(m, inp)

    async def detected(self, fired: list) -> None:
        """weft's own detections: on weft.alerts.v1, stored, and into the stories (inline;
        replicas read them back from weft.alerts.v1, see correlating.py)."""
        if not fired:
            return
        for alert, _ocsf in fired:
            await bus.publish(self.stage.js, subjects.ALERTS, alert, msg_id=f"alert-WEFT-{alert.id}")
        if self.stage.inline:
            found = [(ocsf, tuple(alert.event_ids)) for alert, ocsf in fired]
            await self.tell(await asyncio.to_thread(self.stage.storying.alerts, found))
        await asyncio.to_thread(_store_alerts, self.stage.engine, [a for a, _ in fired])

    def _judge_batch(self, inp: intake.Input) -> tuple[list, list] | None:
        """One worker hop per batch: unless recorded before (None), the correlator's index
        (inline: one replica), then the rules."""
        if received.seen(self.stage.engine, store.Received, inp.family, inp.content_id):
            return None
        events = inp.message.events
        stories = self.stage.storying.events(events) if self.stage.inline else []
        return stories, self.stage.detecting.events(events)

    async def tell(self, stories: list) -> None:
        """Every new or changed story out on weft.stories.v1 (a version per content)."""
        for story in stories:
            digest = hashlib.blake2b(story.story_json.encode(), digest_size=8).hexdigest()
            await bus.publish(self.stage.js, subjects.STORIES, story, msg_id=f"{story.id}-{digest}")


def _store_alerts(engine, alerts: list) -> None:
    with engine.begin() as conn:
        store.add_alerts(alerts)(conn)


def json_field(text: str, what: str):
    """A JSON field of a bus message; one that is not JSON is dead-lettered at once."""
    try:
        return json.loads(text)
    except ValueError as e:
        raise codec.InvalidInput(f"weft.v1.{what} carries JSON that does not parse: {e}") from None
