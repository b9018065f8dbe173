"""Evidence and its verdict: what each matcher that fired says about a workload, and how
independent pieces of evidence combine into one kind (agent, inference_server,
mcp_server, tool or none) with a confidence. Pure data and functions."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from weft.discovery.core.fingerprints import Hit

NONE = "none"
PRECEDENCE = ("agent", "mcp_server", "inference_server", "tool")   # breaks ties between equal scores
MIN_CONFIDENCE = 0.5
MAX_VALUE = 200            # characters of an observed value kept as evidence


@dataclass(frozen=True, order=True)
class Evidence:
    role: str
    fingerprint: str
    matcher: int
    name: str              # the fingerprint's human name
    signal: str            # host, exec, path, image, listen_port, connect_port, traffic
    value: str             # what was observed
    weight: float
    first_seen: int        # event time

    def __str__(self) -> str:
        return f"{self.name} ({self.signal} {self.value})"


@dataclass(frozen=True)
class Classification:
    kind: str              # agent, inference_server, mcp_server, tool or none
    confidence: float
    evidence: tuple[Evidence, ...]   # for the kind first, strongest first; then the rest


def decide(evidence: Iterable[Evidence], threshold: float = MIN_CONFIDENCE) -> Classification:
    """Per role, independent evidence combines as 1 - Π(1 - weight); the best-scoring role
    at or above the threshold is the kind, its score the confidence. Below it: none,
    with confidence 1 - the best score."""
    ev = list(evidence)
    miss = {r: 1.0 for r in PRECEDENCE}
    for e in ev:
        miss[e.role] *= 1.0 - e.weight
    role = min(PRECEDENCE, key=lambda r: (miss[r], PRECEDENCE.index(r)))
    score = 1.0 - miss[role]
    kind, confidence = (role, score) if score >= threshold else (NONE, 1.0 - score)
    ordered = sorted(ev, key=lambda e: (e.role != kind, -e.weight, e.fingerprint, e.matcher))
    return Classification(kind, round(confidence, 4), tuple(ordered))


def evidence_of(hit: Hit, value: str, t: int) -> Evidence:
    return Evidence(hit.role, hit.fingerprint, hit.matcher, hit.name, hit.signal, value[:MAX_VALUE], hit.weight, t)


def keep(into: dict, e: Evidence) -> None:
    """One piece of evidence per matcher: the earliest (then smallest) value."""
    key = (e.fingerprint, e.matcher)
    old = into.get(key)
    if old is None or (e.first_seen, e.value) < (old.first_seen, old.value):
        into[key] = e


def merge_evidence(*groups: Iterable[Evidence]) -> list[Evidence]:
    out: dict = {}
    for g in groups:
        for e in g:
            keep(out, e)
    return list(out.values())
