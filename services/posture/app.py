"""posture as a service: build_app(config) is the one factory __main__ and tests call."""
from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

from weft.common import subjects
from weft.common.consuming import ConsumingStage
from weft.posture import store
from weft.posture.api import add_routes
from weft.posture.config import PostureConfig
from weft.posture.handlers import Handlers
from weft.posture.judging import Judging, judge_and_publish


class PostureStage(ConsumingStage):
    name = "posture"
    migrations = Path(__file__).parent / "migrations"
    reads = (subjects.DECLARATIONS, subjects.all_of(subjects.AUDIT), subjects.INVENTORY,
             subjects.all_of(subjects.PROFILES))
    received = store.Received
    handlers_factory = Handlers

    def __init__(self, config: PostureConfig):
        super().__init__(config)
        self.judging = Judging()

    async def on_start(self, stack: AsyncExitStack) -> None:
        await super().on_start(stack)
        task = asyncio.create_task(judge_and_publish(self, self.config.judge_interval), name="posture-judge")
        stack.push_async_callback(_cancel, task)

    def routes(self, app) -> None:
        add_routes(app, self.judging)

    def status(self) -> dict:
        latest = self.judging.latest
        return {**super().status(), "findings": len(latest.posture.findings) if latest else 0,
                "chains": len(latest.posture.chains) if latest else 0}


async def _cancel(task: asyncio.Task) -> None:
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


def build_app(config: PostureConfig) -> PostureStage:
    return PostureStage(config)
