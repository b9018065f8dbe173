"""posture's bus input: declarations and audit records are kept (once) for judging,
profiles replace their agent's last one; anything new makes posture judge again."""
from __future__ import annotations

import asyncio

from nats.aio.msg import Msg

from weft.common import intake, received
from weft.common.consuming import RecordingHandlers
from weft.posture import store
from weft.v1 import bus_pb2, inventory_pb2


class Handlers(RecordingHandlers):
    async def on_input(self, m: Msg, inp: intake.Input) -> tuple[bool, int]:
        msg = inp.message
        if isinstance(msg, bus_pb2.RawRecord) and inp.family in ("declarations", "audit"):
            also = store.add_input(inp.content_id, msg)
            kinds = {msg.format: 1}
        elif isinstance(msg, inventory_pb2.AgentProfile):
            also = store.put_profile(msg.name, msg.document_json)
            kinds = {"profile": 1}
        else:
            return await super().on_input(m, inp)
        with self.span("", "", 1):
            row = received.row_for(inp, kinds)
            new = await asyncio.to_thread(received.record, self.stage.engine, self.stage.received, row, also)
        if new:
            self.stage.judging.dirty = True
        return new, 0
