"""enforce's bus input: where each agent runs (weft.inventory.v1) and its newest profile
(weft.profiles.v1), kept for placing policies and judging promotions; the rest recorded."""
from __future__ import annotations

import json

from nats.aio.msg import Msg

from weft.common import codec, intake
from weft.common.consuming import RecordingHandlers
from weft.v1 import inventory_pb2


class Handlers(RecordingHandlers):
    async def on_input(self, m: Msg, inp: intake.Input) -> tuple[bool, int]:
        msg, policies = inp.message, self.stage.policies
        if isinstance(msg, inventory_pb2.Inventory):
            policies.agents = {e.name: sorted(e.clusters) for e in msg.entries}
        elif isinstance(msg, inventory_pb2.AgentProfile):
            try:
                policies.profiles[msg.name] = json.loads(msg.document_json)
            except ValueError as e:
                raise codec.InvalidInput(f"weft.v1.AgentProfile carries JSON that does not parse: {e}") from None
        return await super().on_input(m, inp)
