"""posture's settings: the common ones (flags, then WEFT_* environment) and how
its consumers pull from JetStream."""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from weft.common.config import ServiceConfig, add_common_flags, common_kwargs

EPILOG = """\
reads (durable JetStream consumers, explicit ack):
  weft.declarations.v1  manifests, policies, credentials, raw  stream WEFT_DECLARATIONS
  weft.audit.v1.>       cloud audit log records, raw           stream WEFT_AUDIT
  weft.inventory.v1     agents, tools, graph                   stream WEFT_INVENTORY
  weft.profiles.v1.>    behaviour profiles                     stream WEFT_PROFILES
writes:
  weft.deadletter.v1    input it cannot accept, with the reason (see `weft deadletter`)
serves:
  /healthz /readyz /metrics /v1/status on --http-host:--http-port

examples:
  python -m weft.posture --nats-url nats://127.0.0.1:4222 --http-port 9102
  WEFT_DB_URL=postgresql://weft@db/weft python -m weft.posture   # production store
"""


@dataclass
class PostureConfig(ServiceConfig):
    service: str = "posture"
    fetch_batch: int = 100      # messages pulled per fetch
    max_deliver: int = 5        # tries of a failing message before it is dead-lettered

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.fetch_batch < 1 or self.max_deliver < 1:
            raise ValueError("--fetch-batch and --max-deliver must be at least 1")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m weft.posture", epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                description="weft posture: declared permissions against observed behaviour, "
                                            "along the whole identity chain.")
    add_common_flags(p)
    env = os.environ.get
    g = p.add_argument_group("consumers")
    g.add_argument("--fetch-batch", type=int, default=env("WEFT_POSTURE_FETCH_BATCH", "100"),
                   help="messages pulled per fetch (WEFT_POSTURE_FETCH_BATCH)")
    g.add_argument("--max-deliver", type=int, default=env("WEFT_POSTURE_MAX_DELIVER", "5"),
                   help="tries of a failing message before it is dead-lettered (WEFT_POSTURE_MAX_DELIVER)")
    return p


def parse(argv: list[str] | None = None) -> PostureConfig:
    p = parser()
    args = p.parse_args(argv)
    try:
        return PostureConfig(**common_kwargs(args), fetch_batch=args.fetch_batch, max_deliver=args.max_deliver)
    except ValueError as e:
        p.error(str(e))
