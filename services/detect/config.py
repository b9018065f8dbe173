"""detect's settings: the common ones (flags, then WEFT_* environment) and how
its consumers pull from JetStream."""
from __future__ import annotations

from dataclasses import dataclass

from weft.common import consuming

DESCRIPTION = "weft detect: provider alerts and runtime events in, alerts and attack stories out."

EPILOG = """\
reads (durable JetStream consumers, explicit ack):
  weft.events.v1.>     runtime event batches        stream WEFT_EVENTS
  weft.signals.v1.>    provider alerts, raw         stream WEFT_SIGNALS
  weft.inventory.v1    agents, tools, graph         stream WEFT_INVENTORY
  weft.profiles.v1.>   behaviour profiles           stream WEFT_PROFILES
  weft.identity.v1     resolved identity chains     stream WEFT_IDENTITY
writes:
  weft.deadletter.v1   input it cannot accept, with the reason (see `weft deadletter`)
serves:
  /healthz /readyz /metrics /v1/status on --http-host:--http-port

examples:
  python -m weft.detect --nats-url nats://127.0.0.1:4222 --http-port 9103
  WEFT_DB_URL=postgresql://weft@db/weft python -m weft.detect   # production store
"""


@dataclass
class DetectConfig(consuming.ConsumingConfig):
    service: str = "detect"


def parse(argv: list[str] | None = None) -> DetectConfig:
    return consuming.parse(DetectConfig, DESCRIPTION, EPILOG, argv)
