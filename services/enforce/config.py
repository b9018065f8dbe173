"""enforce's settings: the common ones (flags, then WEFT_* environment) and how
its consumers pull from JetStream."""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from weft.common.config import ServiceConfig, add_common_flags, common_kwargs

EPILOG = """\
reads (durable JetStream consumers, explicit ack):
  weft.inventory.v1    agents, tools, graph         stream WEFT_INVENTORY
  weft.profiles.v1.>   behaviour profiles           stream WEFT_PROFILES
  weft.stories.v1      attack stories (response)    stream WEFT_STORIES
writes:
  weft.deadletter.v1   input it cannot accept, with the reason (see `weft deadletter`)
serves:
  /healthz /readyz /metrics /v1/status on --http-host:--http-port

examples:
  python -m weft.enforce --nats-url nats://127.0.0.1:4222 --http-port 9104
  WEFT_DB_URL=postgresql://weft@db/weft python -m weft.enforce   # production store
"""


@dataclass
class EnforceConfig(ServiceConfig):
    service: str = "enforce"
    fetch_batch: int = 100      # messages pulled per fetch
    max_deliver: int = 5        # tries of a failing message before it is dead-lettered

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.fetch_batch < 1 or self.max_deliver < 1:
            raise ValueError("--fetch-batch and --max-deliver must be at least 1")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m weft.enforce", epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                description="weft enforce: one enforcement intent, compiled into each "
                                            "provider's primitives and kept free of drift.")
    add_common_flags(p)
    env = os.environ.get
    g = p.add_argument_group("consumers")
    g.add_argument("--fetch-batch", type=int, default=env("WEFT_ENFORCE_FETCH_BATCH", "100"),
                   help="messages pulled per fetch (WEFT_ENFORCE_FETCH_BATCH)")
    g.add_argument("--max-deliver", type=int, default=env("WEFT_ENFORCE_MAX_DELIVER", "5"),
                   help="tries of a failing message before it is dead-lettered (WEFT_ENFORCE_MAX_DELIVER)")
    return p


def parse(argv: list[str] | None = None) -> EnforceConfig:
    p = parser()
    args = p.parse_args(argv)
    try:
        return EnforceConfig(**common_kwargs(args), fetch_batch=args.fetch_batch, max_deliver=args.max_deliver)
    except ValueError as e:
        p.error(str(e))
