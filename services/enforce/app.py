"""enforce as a service: build_app(config) is the one factory __main__ and tests call."""
from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

from weft.common import subjects
from weft.common.consuming import ConsumingStage
from weft.enforce import driftwatch, store
from weft.enforce.api import add_policy_routes
from weft.enforce.handlers import Handlers
from weft.enforce.policies import Policies
from weft.enforce.config import EnforceConfig


class EnforceStage(ConsumingStage):
    name = "enforce"
    migrations = Path(__file__).parent / "migrations"
    reads = (subjects.INVENTORY, subjects.all_of(subjects.PROFILES), subjects.STORIES)
    received = store.Received
    handlers_factory = Handlers

    def __init__(self, config: EnforceConfig):
        super().__init__(config)
        self.drift: dict[str, dict] = {}
        self.policies = Policies(self)

    def routes(self, app) -> None:
        add_policy_routes(app, self.policies)

    async def on_start(self, stack: AsyncExitStack) -> None:
        await super().on_start(stack)
        cfg = self.config
        if cfg.drift_intents and cfg.drift_deployed:
            task = asyncio.create_task(driftwatch.watch(self, [Path(p) for p in cfg.drift_intents],
                                                        Path(cfg.drift_deployed), cfg.drift_interval),
                                       name="drift-watch")
            stack.push_async_callback(_cancel, task)

    def status(self) -> dict:
        return {**super().status(), "drift": self.drift}


async def _cancel(task: asyncio.Task) -> None:
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


def build_app(config: EnforceConfig) -> EnforceStage:
    return EnforceStage(config)
