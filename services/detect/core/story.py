"""An attack story (`weft.stories.v1`): the signals of one attack from every source, the
agent they resolve to, its identity chain across clouds, the stages in event-time order,
the data touched and where it went, a severity explained by the chain, a status and a
narrative. Built by story_build.py; rendered by story_render.py (JSON, Markdown, OCSF).

The id is content-derived: `st-` and 16 hex digits of the SHA-256 of the correlation key
and the earliest member signal's id, so offline and live agree and the id stays as late
signals join (unless one predates every member: the story is then renamed, and
correlation reports the old id as retired).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

ID_PREFIX = "st-"
NEW, ACKNOWLEDGED, CLOSED, FALSE_POSITIVE = "new", "acknowledged", "closed", "false_positive"
STATUSES = (NEW, ACKNOWLEDGED, CLOSED, FALSE_POSITIVE)


def story_id(key: str, first_signal_id: str) -> str:
    return ID_PREFIX + hashlib.sha256(f"{key}\0{first_signal_id}".encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class StoryAgent:
    id: str                         # agent_id of the logical name; "" when the key is not an agent
    name: str
    namespace: str
    workload: str
    service_account: str
    clusters: tuple[str, ...]


@dataclass(frozen=True)
class ChainLink:
    provider: str                   # KUBERNETES, AWS, AZURE, GCP
    principal: str
    cluster: str = ""


@dataclass(frozen=True)
class Stage:
    time_ms: int
    provider: str
    cluster: str
    tactic: str
    technique: str                  # "T1530 Data from Cloud Storage", "AML.T0053 …", or ""
    summary: str
    signals: tuple[str, ...]
    step: str = ""                  # where on the agent attack chain it is (escalation.py), if anywhere


@dataclass(frozen=True)
class SignalRef:
    source: str                     # GUARDDUTY, DEFENDER, SCC, FALCO, TETRAGON, WEFT
    id: str
    severity: str
    time_ms: int
    event_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class DataAccess:
    provider: str
    resource: str
    detail: str


@dataclass(frozen=True)
class Destination:
    ip: str
    dns_name: str
    port: int
    sources: tuple[str, ...] = ()   # "cluster/namespace/workload" of what sent to it, where known


@dataclass(frozen=True)
class Trigger:
    """The model exchange the agent had just before the first stage (possibly the injection)."""
    time_ms: int
    model: str
    host: str
    prompt: str
    response: str


@dataclass(frozen=True)
class Story:
    id: str
    key: str                        # the correlation key ("agent:<name>", ...): the partition key
    title: str
    severity: str                   # CRITICAL, HIGH, MEDIUM, LOW, INFO
    severity_reasons: tuple[str, ...]
    providers: tuple[str, ...]
    clusters: tuple[str, ...]
    agent: StoryAgent
    identity_chain: tuple[ChainLink, ...]
    stages: tuple[Stage, ...]
    signals: tuple[SignalRef, ...]
    accessed: tuple[DataAccess, ...]
    destinations: tuple[Destination, ...]
    status: str = NEW
    status_reason: str = ""
    narrative: str = ""
    trigger: Trigger | None = None

    @property
    def first_ms(self) -> int:
        return min(s.time_ms for s in self.signals)

    @property
    def last_ms(self) -> int:
        return max(s.time_ms for s in self.signals)

    @property
    def signal_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.signals)
