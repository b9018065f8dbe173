"""The shell shared by stages that only consume the bus (posture, detect, enforce):
their settings, and a Stage that pulls each subject it reads through one handler."""
from __future__ import annotations

import argparse
import os
from contextlib import AsyncExitStack
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

from weft.common import bus, subjects
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


class ConsumingStage(Stage):
    """Subclasses set `name`, `migrations`, `reads` (subjects), `store` (module with
    `totals(engine)`) and `handlers_factory` (stage -> object with `handle(msg)`)."""
    reads: ClassVar[tuple[str, ...]] = ()
    store: ClassVar[ModuleType]
    handlers_factory: ClassVar[Any]
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
                "stored": type(self).store.totals(self.engine) if self.engine else {}}
