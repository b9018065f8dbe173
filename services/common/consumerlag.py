"""How far each of a stage's durable consumers is behind its stream.

The status endpoint is synchronous, so the numbers are refreshed in the
background and read from memory.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator, Sequence

from nats.js import JetStreamContext

from weft.common.bus import Consumer

log = logging.getLogger(__name__)


class ConsumerLag:
    def __init__(self, js: JetStreamContext, consumers: Sequence[Consumer], every_s: float = 2.0):
        self.js = js
        self.consumers = consumers
        self.every_s = every_s
        self.pending: dict[str, int | None] = {c.durable: None for c in consumers}

    async def refresh(self) -> None:
        for c in self.consumers:
            try:
                info = await self.js.consumer_info(c.stream, c.durable, timeout=2)
                self.pending[c.durable] = info.num_pending
            except Exception as e:  # NATS down or consumer not created yet: unknown, not zero
                log.debug("lag of %s unknown: %s", c.durable, e)
                self.pending[c.durable] = None

    async def _loop(self) -> None:
        await asyncio.sleep(0.5)  # the stage subscribes its consumers after entering this
        while True:
            await self.refresh()
            await asyncio.sleep(self.every_s)

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator["ConsumerLag"]:
        task = asyncio.create_task(self._loop(), name="consumer-lag")
        try:
            yield self
        finally:
            # A cancel can be swallowed inside a refresh (nats-py's request timeout, 3.11's
            # wait_for): cancel again until the task is gone, never wait on it forever.
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=1)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                task.result()
