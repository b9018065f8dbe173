"""detect's settings: the common ones (flags, then WEFT_* environment) and how
its consumers pull from JetStream."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

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
  weft.alerts.v1       provider alerts as OCSF, and weft's own detections (rules: WEFT_RULES dirs)
  weft.stories.v1      attack stories (correlation state kept in the store across restarts)
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
    rule_dirs: list[str] = field(default_factory=list)   # users' rule directories, after the shipped rules


def parse(argv: list[str] | None = None) -> DetectConfig:
    """The consumer settings, plus WEFT_RULES: ':'-separated directories of rule YAML
    (a rule with a shipped rule's id replaces it: tune severity, add exceptions, disable)."""
    config = consuming.parse(DetectConfig, DESCRIPTION, EPILOG, argv)
    config.rule_dirs = [d for d in os.environ.get("WEFT_RULES", "").split(os.pathsep) if d]
    return config
