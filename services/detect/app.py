"""detect as a service: build_app(config) is the one factory __main__ and tests call."""
from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack
from pathlib import Path
from types import MappingProxyType

from weft.common import subjects
from weft.common.consuming import ConsumingStage
from weft.detect import store
from weft.detect.config import DetectConfig
from weft.detect.correlating import CHECKPOINT, Correlating
from weft.detect.api import add_story_routes
from weft.detect.detecting import Detecting
from weft.detect.handlers import Handlers
from weft.detect.storying import STATE, Storying

STATE_INTERVAL_S = 30.0   # a crash loses at most this much; a restart (SIGTERM) saves on the way out
SAVE_SHARE = 0.03         # unless saving takes longer: then saves are spaced to take at most this share of the time


def next_save_in(took_s: float) -> float:
    """Seconds to the next save of correlation state, after one that took `took_s`: a large
    state (a busy fleet's facts) is saved less often rather than stalling detect every 30 s."""
    return max(STATE_INTERVAL_S, took_s / SAVE_SHARE)


class DetectStage(ConsumingStage):
    name = "detect"
    migrations = Path(__file__).parent / "migrations"
    reads = (subjects.all_of(subjects.EVENTS), subjects.all_of(subjects.SIGNALS), subjects.INVENTORY,
             subjects.all_of(subjects.PROFILES), subjects.IDENTITY)
    received = store.Received
    handlers_factory = Handlers
    storying: Storying
    correlating: Correlating | None = None
    state_saves = MappingProxyType({})   # the last save's figures, replaced (never changed) per save

    async def on_start(self, stack: AsyncExitStack) -> None:
        self.detecting = Detecting(self.config.rule_dirs, self.config.limits)
        if self.config.partitions:    # one of several replicas: correlation fed from the bus
            self.correlating = Correlating(self)
            self.storying = await self.correlating.start(stack)
        else:
            self.storying = Storying.restored(await asyncio.to_thread(store.load_state, self.engine, STATE),
                                              self.config.max_facts)
        await super().on_start(stack)
        saver = asyncio.create_task(self._keep_state(), name="correlation-state")
        stack.push_async_callback(self._save_last, saver)

    @property
    def inline(self) -> bool:
        """One replica: the handlers feed the correlator in the hop that reads the input."""
        return self.correlating is None

    async def _keep_state(self) -> None:
        interval = STATE_INTERVAL_S
        while not self.stop_event.is_set():
            try:
                await asyncio.wait_for(self.stop_event.wait(), interval)
            except asyncio.TimeoutError:
                pass
            if self.storying.dirty or (not self.inline and self.correlating.read_on()):
                started = time.monotonic()
                await self._save()
                took = time.monotonic() - started
                interval = next_save_in(took)
                self.state_saves = {"last_save_s": round(took, 3), "save_interval_s": round(interval, 1)}

    async def _save_last(self, saver: asyncio.Task) -> None:
        saver.cancel()
        await asyncio.gather(saver, return_exceptions=True)
        await self._save()

    async def _save(self) -> None:
        # The state is made in the worker too: a large one would hold the event loop.
        if self.inline:
            await asyncio.to_thread(lambda: store.save_state(self.engine, STATE, self.storying.state()))
        else:
            await asyncio.to_thread(lambda: store.save_state(self.engine, CHECKPOINT, self.correlating.checkpoint()))

    def routes(self, app) -> None:
        add_story_routes(app, self)

    def status(self) -> dict:
        found = {"stories": len(self.storying.stories()) if hasattr(self, "storying") else 0,
                 **(self.detecting.held() if hasattr(self, "detecting") else {}), **self.state_saves}
        if self.correlating is not None:
            found["correlation"] = self.correlating.status()
        return {**super().status(), **found}


def build_app(config: DetectConfig) -> DetectStage:
    return DetectStage(config)
