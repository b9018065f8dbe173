"""detect as a service: build_app(config) is the one factory __main__ and tests call."""
from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from weft.common import bus, subjects
from weft.common.consumerlag import ConsumerLag
from weft.common.intake import Tally
from weft.common.runtime import Stage
from weft.detect import store
from weft.detect.config import DetectConfig
from weft.detect.handlers import Handlers

READS = (subjects.all_of(subjects.EVENTS), subjects.all_of(subjects.SIGNALS), subjects.INVENTORY,
         subjects.all_of(subjects.PROFILES), subjects.IDENTITY)


class DetectStage(Stage):
    name = "detect"
    migrations = Path(__file__).parent / "migrations"
    config: DetectConfig

    def __init__(self, config: DetectConfig):
        super().__init__(config)
        self.tally = Tally()
        self.handlers = Handlers(self)
        self.lag: ConsumerLag | None = None
        self._consumers: list[bus.Consumer] = []

    async def on_start(self, stack: AsyncExitStack) -> None:
        self._consumers = [
            bus.Consumer(self.js, self.name, subjects.stream_for(subject).name, subject,
                         self.handlers.handle, batch=self.config.fetch_batch,
                         max_deliver=self.config.max_deliver)
            for subject in READS]
        self.lag = await stack.enter_async_context(ConsumerLag(self.js, self._consumers).watching())

    def consumers(self) -> list[bus.Consumer]:
        return self._consumers

    def status(self) -> dict[str, Any]:
        return {**self.tally.as_dict(), "lag": dict(self.lag.pending) if self.lag else {},
                "stored": store.totals(self.engine) if self.engine else {}}


def build_app(config: DetectConfig) -> DetectStage:
    return DetectStage(config)
