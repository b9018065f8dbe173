"""The shell shared by stages that only consume the bus (posture, detect, enforce):
their settings, and a Stage that pulls each subject it reads through one handler."""
from __future__ import annotations

import argparse
import asyncio
import os
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, ClassVar

from nats.aio.msg import Msg

from weft.common import bus, codec, intake, received, subjects, tracing
from weft.common.config import ServiceConfig, add_common_flags, common_kwargs
from weft.common.consumerlag import ConsumerLag
from weft.common.intake import Tally
from weft.common.runtime import Stage


@dataclass
class ConsumingConfig(ServiceConfig):
    fetch_batch: int = 100      # messages pulled per fetch
    max_deliver: int = 5        # tries of a failing message before it is dead-lettered

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.fetch_batch < 1 or self.max_deliver < 1:
            raise ValueError("--fetch-batch and --max-deliver must be at least 1")


def parse(cls: type[ConsumingConfig], description: str, epilog: str,
          argv: list[str] | None = None) -> ConsumingConfig:
    """Flags, then WEFT_* (and WEFT_<STAGE>_*) environment, then defaults."""
    stage = cls.service
    env, prefix = os.environ.get, f"WEFT_{stage.upper()}"
    p = argparse.ArgumentParser(prog=f"python -m weft.{stage}", description=description, epilog=epilog,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_flags(p)
    g = p.add_argument_group("consumers")
    g.add_argument("--fetch-batch", type=int, default=env(f"{prefix}_FETCH_BATCH", "100"),
                   help=f"messages pulled per fetch ({prefix}_FETCH_BATCH)")
    g.add_argument("--max-deliver", type=int, default=env(f"{prefix}_MAX_DELIVER", "5"),
                   help=f"tries of a failing message before it is dead-lettered ({prefix}_MAX_DELIVER)")
    args = p.parse_args(argv)
    try:
        return cls(**common_kwargs(args), fetch_batch=args.fetch_batch, max_deliver=args.max_deliver)
    except ValueError as e:
        p.error(str(e))


class RecordingHandlers:
    """Decode what arrives, let the consumer dead-letter what the contract refuses,
    record the rest once. Stages with logic for a message override `on_input`."""

    def __init__(self, stage: "ConsumingStage"):
        self.stage = stage

    async def handle(self, m: Msg) -> None:
        try:
            inp = intake.read(m.subject, m.headers, m.data)
        except codec.InvalidInput:
            self.stage.tally.deadlettered += 1
            raise
        new, events = await self.on_input(m, inp)
        self.count(new, inp, events)

    async def on_input(self, m: Msg, inp: intake.Input) -> tuple[bool, int]:
        """Handle one decoded input; returns (stored for the first time, events in it)."""
        fmt = getattr(inp.message, "format", "")
        with self.span("", "", 1):
            row = received.row_for(inp, {fmt: 1} if fmt else {})
            return await asyncio.to_thread(received.record, self.stage.engine, self.stage.received, row), 0

    def count(self, new: bool, inp: intake.Input, events: int) -> None:
        tally = self.stage.tally
        if not new:
            tally.duplicates += 1
            return
        tally.handled += 1
        tally.skipped += inp.skipped
        tally.events += events

    def span(self, cluster: str, node: str, size: int):
        name = self.stage.name
        return tracing.tracer(name).start_as_current_span(
            f"{name} handle batch", attributes={"weft.cluster": cluster, "weft.node": node, "weft.batch.size": size})


class ConsumingStage(Stage):
    """Subclasses set `name`, `migrations`, `reads` (subjects), `received` (their
    ReceivedBase table) and, when they have logic, `handlers_factory`."""
    reads: ClassVar[tuple[str, ...]] = ()
    received: ClassVar[type[received.ReceivedBase]]
    handlers_factory: ClassVar[Any] = RecordingHandlers
    config: ConsumingConfig

    def __init__(self, config: ConsumingConfig):
        super().__init__(config)
        self.tally = Tally()
        self.handlers = type(self).handlers_factory(self)
        self.lag: ConsumerLag | None = None
        self._consumers: list[bus.Consumer] = []

    async def on_start(self, stack: AsyncExitStack) -> None:
        self._consumers = [
            bus.Consumer(self.js, self.name, subjects.stream_for(subject).name, subject,
                         self.handlers.handle, batch=self.config.fetch_batch,
                         max_deliver=self.config.max_deliver)
            for subject in self.reads]
        self.lag = await stack.enter_async_context(ConsumerLag(self.js, self._consumers).watching())

    def consumers(self) -> list[bus.Consumer]:
        return self._consumers

    def status(self) -> dict[str, Any]:
        return {**self.tally.as_dict(), "lag": dict(self.lag.pending) if self.lag else {},
                "stored": received.totals(self.engine, self.received) if self.engine else {}}
