"""posture's settings: the common ones (flags, then WEFT_* environment) and how
its consumers pull from JetStream."""
from __future__ import annotations

from dataclasses import dataclass

from weft.common import consuming

DESCRIPTION = "weft posture: declared permissions against observed behaviour, along the whole identity chain."

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
class PostureConfig(consuming.ConsumingConfig):
    service: str = "posture"
    judge_interval: float = 2.0    # seconds between judgements when new input arrived


def parse(argv: list[str] | None = None) -> PostureConfig:
    return consuming.parse(PostureConfig, DESCRIPTION, EPILOG, argv)
