"""enforce's settings: the common ones (flags, then WEFT_* environment) and how
its consumers pull from JetStream."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from weft.common import consuming, durations

DESCRIPTION = "weft enforce: one enforcement intent, compiled into each provider's primitives and kept free of drift."

EPILOG = """\
reads (durable JetStream consumers, explicit ack):
  weft.inventory.v1    agents, tools, graph         stream WEFT_INVENTORY
  weft.profiles.v1.>   behaviour profiles           stream WEFT_PROFILES
  weft.stories.v1      attack stories (response)    stream WEFT_STORIES
writes:
  weft.drift.v1        drift reports, when WEFT_DRIFT_INTENTS and WEFT_DRIFT_DEPLOYED are set
  weft.deadletter.v1   input it cannot accept, with the reason (see `weft deadletter`)
promotion to enforce wants the agent's profile stable WEFT_PROMOTE_MIN_STABLE (default 10m)
serves:
  /healthz /readyz /metrics /v1/status on --http-host:--http-port

examples:
  python -m weft.enforce --nats-url nats://127.0.0.1:4222 --http-port 9104
  WEFT_DB_URL=postgresql://weft@db/weft python -m weft.enforce   # production store
"""


@dataclass
class EnforceConfig(consuming.ConsumingConfig):
    service: str = "enforce"
    drift_intents: list[str] = field(default_factory=list)   # intents to watch for drift
    drift_deployed: str = ""          # directory the deployed documents are exported into
    drift_interval: float = 60.0      # seconds between comparisons
    min_stable_s: int = 600           # promotion to enforce wants the profile stable this long


def parse(argv: list[str] | None = None) -> EnforceConfig:
    """The consumer settings, plus the drift watch from the environment:
    WEFT_DRIFT_INTENTS (':'-separated intent files), WEFT_DRIFT_DEPLOYED (a directory),
    WEFT_DRIFT_INTERVAL (a duration, default 60s); and WEFT_PROMOTE_MIN_STABLE (a duration,
    default 10m): how long a profile must have been stable for promotion to enforce."""
    config = consuming.parse(EnforceConfig, DESCRIPTION, EPILOG, argv)
    env = os.environ.get
    config.drift_intents = [p for p in env("WEFT_DRIFT_INTENTS", "").split(os.pathsep) if p]
    config.drift_deployed = env("WEFT_DRIFT_DEPLOYED", "")
    config.drift_interval = durations.seconds(env("WEFT_DRIFT_INTERVAL", "60s"))
    config.min_stable_s = int(durations.seconds(env("WEFT_PROMOTE_MIN_STABLE", "10m")))
    return config
