"""detect's settings: the common ones (flags, then WEFT_* environment) and how
its consumers pull from JetStream."""
from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field

from weft.common import consuming
from weft.detect.core.entity_index import MAX_FACTS
from weft.detect.core.folding import Limits

MIN_FACTS = 1000      # below this a budget would forget the facts of the last minutes
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
  WEFT_DETECT_PARTITIONS=8 python -m weft.detect                # one of several replicas

replicas (WEFT_DETECT_PARTITIONS > 0; unset or 0: one replica correlating everything inline):
  every replica reads all events, alerts and chains for correlation and tells the stories
  of the partitions it holds a lease on (bucket weft_detect_leases); a replica that dies
  hands its partitions over after WEFT_DETECT_LEASE_TTL seconds (default 10).
  WEFT_DETECT_REPLICA names the replica (default: host name, pid and a random suffix).

alert storms (windows are slices of event time, as `weft analyze` folds them):
  WEFT_DETECT_FOLD_WINDOW  seconds (default 60): an alert of the rule, agent and detail of one
                           raised in its window is not raised; the key's next alert, in a later
                           window, carries how many were folded (OCSF count, start_time,
                           end_time). 0: every alert raised one by one.
  WEFT_DETECT_ALERT_CAP    alerts per rule, agent and window (default 50); past it the rest are
                           held back and summed in one alert when the window closes. 0: no cap.
  Both are counted in weft_detect_alerts_held_total{reason="repeat"|"cap"} and /v1/status
  (alerts_folded, alerts_held_back). Replicas each fold the events they are handed.

memory:
  WEFT_DETECT_MAX_FACTS    time-stamped facts correlation keeps (connections, accepts, MCP
                           calls, model exchanges; default 1000000, ~260 bytes each and twice
                           that while the state is saved). Past it the oldest are forgotten
                           before their 24 h, counted in weft_detect_index_facts_shed_total.
"""


@dataclass
class DetectConfig(consuming.ConsumingConfig):
    service: str = "detect"
    rule_dirs: list[str] = field(default_factory=list)   # users' rule directories, after the shipped rules
    partitions: int = 0                  # correlation partitions shared by replicas; 0: inline, one replica
    lease_ttl_s: float = 10.0            # a dead replica's partitions are claimed this long after its last renewal
    replica: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    fold_window_s: float = Limits.window_s   # a repeat of an alert within it is folded; 0: off
    alert_cap: int = Limits.cap              # alerts per rule, agent and fold window; 0: no cap
    max_facts: int = MAX_FACTS               # the entity index's budget of time-stamped facts

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.partitions < 0 or self.lease_ttl_s <= 0:
            raise ValueError("WEFT_DETECT_PARTITIONS must be 0 or more and WEFT_DETECT_LEASE_TTL positive")
        if self.max_facts < MIN_FACTS:
            raise ValueError(f"WEFT_DETECT_MAX_FACTS must be at least {MIN_FACTS}: correlation needs the "
                             "facts of the last minutes")
        self.limits   # checked: WEFT_DETECT_FOLD_WINDOW and WEFT_DETECT_ALERT_CAP 0 (off) or more

    @property
    def limits(self) -> Limits:
        return Limits(self.fold_window_s, self.alert_cap)


def parse(argv: list[str] | None = None) -> DetectConfig:
    """The consumer settings, plus WEFT_RULES: ':'-separated directories of rule YAML
    (a rule with a shipped rule's id replaces it: tune severity, add exceptions, disable)."""
    config = consuming.parse(DetectConfig, DESCRIPTION, EPILOG, argv)
    config.rule_dirs = [d for d in os.environ.get("WEFT_RULES", "").split(os.pathsep) if d]
    try:
        config.partitions = int(os.environ.get("WEFT_DETECT_PARTITIONS", "0") or 0)
        config.lease_ttl_s = float(os.environ.get("WEFT_DETECT_LEASE_TTL", "10") or 10)
        config.replica = os.environ.get("WEFT_DETECT_REPLICA", "") or config.replica
        config.fold_window_s = float(os.environ.get("WEFT_DETECT_FOLD_WINDOW", "") or Limits.window_s)
        config.alert_cap = int(os.environ.get("WEFT_DETECT_ALERT_CAP", "") or Limits.cap)
        config.max_facts = int(os.environ.get("WEFT_DETECT_MAX_FACTS", "") or MAX_FACTS)
        config.__post_init__()
    except ValueError as e:
        raise SystemExit(f"python -m weft.detect: {e}") from None
    return config
