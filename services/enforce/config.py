"""enforce's settings: the common ones (flags, then WEFT_* environment) and how
its consumers pull from JetStream."""
from __future__ import annotations

from dataclasses import dataclass

from weft.common import consuming

DESCRIPTION = "weft enforce: one enforcement intent, compiled into each provider's primitives and kept free of drift."

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
class EnforceConfig(consuming.ConsumingConfig):
    service: str = "enforce"


def parse(argv: list[str] | None = None) -> EnforceConfig:
    return consuming.parse(EnforceConfig, DESCRIPTION, EPILOG, argv)
