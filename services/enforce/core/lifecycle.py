"""A policy's life: revisions (each an intent and a mode), the sensor program a revision
becomes, and whether the evidence lets it be promoted. Pure.

Modes go observe → audit → enforce. Promotion to enforce is refused while the agent's
profile is not ready (its behaviour is not known yet), while it has been stable for
less than `min_stable_s` (MIN_STABLE_S unless configured), or while audit shows would-be blocks — each of those says
the policy would break the agent; `force` overrides, and the record keeps that."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

MODES = ("observe", "audit", "enforce")
MIN_STABLE_S = 600


@dataclass(frozen=True)
class Revision:
    number: int
    mode: str
    intent: str            # the YAML as applied
    reason: str = ""       # applied | promoted | promoted (forced) | rolled back


@dataclass(frozen=True)
class Evidence:
    profile_status: str = ""        # learning | ready | "" (no profile)
    stable_s: int = 0               # event time since the profile last changed
    would_be_blocks: int = 0        # audit decisions seen from the sensors
    blocks: int = 0


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reasons: tuple[str, ...] = field(default=())


def promotion(current: str, target: str, evidence: Evidence, force: bool = False,
              min_stable_s: int = MIN_STABLE_S) -> Verdict:
    if target not in MODES:
        return Verdict(False, (f"mode {target!r}: one of {', '.join(MODES)}",))
    if MODES.index(target) <= MODES.index(current):
        return Verdict(False, (f"already {current}: promotion goes observe → audit → enforce "
                               "(`rollback` goes back)",))
    problems = []
    if target == "enforce":
        if evidence.profile_status != "ready":
            problems.append(f"the agent's profile is {evidence.profile_status or 'missing'}, not ready: "
                            "behaviour not yet seen would be blocked")
        elif evidence.stable_s < min_stable_s:
            problems.append(f"the profile has been stable for {evidence.stable_s} s, under {min_stable_s} s")
        if evidence.would_be_blocks:
            problems.append(f"audit saw {evidence.would_be_blocks} would-be blocks: enforcing would break them")
        if current == "observe":
            problems.append("no audit period: promote to audit first and watch the would-be blocks")
    if problems and not force:
        return Verdict(False, tuple(problems))
    return Verdict(True, tuple(f"forced over: {p}" for p in problems) if problems else ())


def program_id(policy: str, revision: int, spec: bytes) -> str:
    return f"{policy}-r{revision}-{hashlib.blake2b(spec, digest_size=4).hexdigest()}"


def sensor_spec(documents: list[dict], mode: str) -> bytes:
    """The sensor policy document (the sensor compiler's output) in `mode`, as the program carries it."""
    (doc,) = documents
    doc = json.loads(json.dumps(doc))
    doc["spec"]["mode"] = mode
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
