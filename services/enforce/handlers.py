"""enforce's bus input: decode, let the consumer dead-letter what the contract
refuses, record the rest once (a redelivery changes nothing)."""
from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from nats.aio.msg import Msg

from weft.common import codec, intake, tracing
from weft.enforce import store
from weft.v1 import bus_pb2

if TYPE_CHECKING:
    from weft.enforce.app import EnforceStage


class Handlers:
    def __init__(self, stage: "EnforceStage"):
        self.stage = stage

    async def handle(self, m: Msg) -> None:
        tally = self.stage.tally
        try:
            inp = intake.read(m.subject, m.headers, m.data)
        except codec.InvalidInput:
            tally.deadlettered += 1
            raise
        fmt = inp.message.format if isinstance(inp.message, bus_pb2.RawRecord) else ""
        row = store.Received(family=inp.family, content_id=inp.content_id, subject=inp.subject,
                             type_name=inp.type_name, kinds=json.dumps({fmt: 1} if fmt else {}),
                             skipped=inp.skipped)
        with tracing.tracer("enforce").start_as_current_span(
                "enforce handle batch", attributes={"weft.cluster": "", "weft.node": "", "weft.batch.size": 1}):
            new = await asyncio.to_thread(store.record, self.stage.engine, row)
        if not new:
            tally.duplicates += 1
            return
        tally.handled += 1
        tally.skipped += inp.skipped
