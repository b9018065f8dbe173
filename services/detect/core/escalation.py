"""A story's severity: the highest of its signals, raised by the chain they form, and why.

Each signal is placed on the chain an agent attack follows, from what it says about
itself (ATT&CK tactics, ATT&CK and ATLAS techniques, its finding type):

    entry (injection, initial access, execution) -> tool misuse -> data access -> exfiltration

A data store's own exfiltration alert ("unusual amount of data extracted") counts as data
access: the store sees data leave it, not where it went. Then the rules, in order, each
raise the severity to at least its level and say so:

- signals from two or more clouds about one agent: at least MEDIUM;
- data accessed and later sent out: at least HIGH;
- the whole chain, in event-time order: at least HIGH, CRITICAL when it spans two or more
  clouds (injection -> tool misuse -> data access -> exfiltration across providers is at
  least HIGH even when every part is LOW).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from weft.detect.core import severity
from weft.detect.core.signal_record import Signal

ENTRY, INJECTION, TOOL_MISUSE, DATA_ACCESS, EXFILTRATION = "entry", "injection", "tool misuse", "data access", \
    "exfiltration"
CHAIN = ((ENTRY, INJECTION), (TOOL_MISUSE,), (DATA_ACCESS,), (EXFILTRATION,))
LEVELS = ("INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL")
SKEW_MS = 60_000        # sources' clocks and stamping differ: a step may precede the one before by this much

TACTIC_STEPS = {"Initial Access": ENTRY, "Execution": ENTRY, "Privilege Escalation": ENTRY,
                "Credential Access": DATA_ACCESS, "Collection": DATA_ACCESS, "Exfiltration": EXFILTRATION}
TECHNIQUE_STEPS = {  # by id prefix: ATLAS and ATT&CK
    "AML.T0051": INJECTION, "AML.T0054": INJECTION, "AML.T0053": TOOL_MISUSE,
    "T1005": DATA_ACCESS, "T1213": DATA_ACCESS, "T1530": DATA_ACCESS, "T1552": DATA_ACCESS, "T1555": DATA_ACCESS,
    "T1020": EXFILTRATION, "T1041": EXFILTRATION, "T1048": EXFILTRATION, "T1537": EXFILTRATION,
    "T1567": EXFILTRATION}
EVENT_CODE_STEPS = {"promptinjection": INJECTION}      # a word in the finding type (GuardDuty AI Protection)


@dataclass(frozen=True, order=True)
class Step:
    time_ms: int
    step: str
    provider: str
    signal_id: str


@dataclass(frozen=True)
class Escalation:
    severity: str                   # CRITICAL, HIGH, MEDIUM, LOW, INFO
    base: str                       # the highest severity of a signal
    reasons: tuple[str, ...]
    steps: tuple[Step, ...]


def level(severity_id: int) -> str:
    """An OCSF severity_id as a story level (Fatal is CRITICAL; Unknown and Other are INFO)."""
    return {severity.LOW: "LOW", severity.MEDIUM: "MEDIUM", severity.HIGH: "HIGH",
            severity.CRITICAL: "CRITICAL", severity.FATAL: "CRITICAL"}.get(severity_id, "INFO")


def steps_of(s: Signal, is_external: Callable[[str], bool]) -> set[str]:
    found = {TACTIC_STEPS[t] for t in s.tactics if t in TACTIC_STEPS}
    found |= {step for uid, _ in s.techniques for prefix, step in TECHNIQUE_STEPS.items()
              if uid == prefix or uid.startswith(prefix + ".")}
    code = s.event_code.lower().replace("_", "").replace(" ", "")
    found |= {step for word, step in EVENT_CODE_STEPS.items() if word in code}
    if EXFILTRATION in found and s.data and not any(is_external(d.ip) for d in s.destinations if d.ip):
        found = (found - {EXFILTRATION}) | {DATA_ACCESS}
    return found


def escalate(signals: Iterable[Signal], provider_of: Callable[[Signal], str],
             steps_by_signal: Mapping[str, set[str]]) -> Escalation:
    """`steps_by_signal`: each signal's steps_of(), by signal id."""
    members = sorted(signals, key=lambda s: (s.time_ms, s.id))
    top = max(members, key=lambda s: (LEVELS.index(level(s.severity_id)), -s.time_ms))
    base = level(top.severity_id)
    steps = tuple(sorted(Step(s.time_ms, step, provider_of(s), s.id)
                         for s in members for step in steps_by_signal[s.id]))
    found, reasons = base, [f"the highest signal severity is {base} ({top.source} {top.event_code or top.title})"]
    for minimum, reason in _rules(members, steps, provider_of):
        if LEVELS.index(minimum) > LEVELS.index(found):
            found = minimum
            reasons.append(f"raised to {minimum}: {reason}")
        else:
            reasons.append(f"{reason} (at least {minimum})")
    return Escalation(found, base, tuple(reasons), steps)


def _rules(members: list[Signal], steps: tuple[Step, ...], provider_of) -> list[tuple[str, str]]:
    out = []
    clouds = sorted({provider_of(s) for s in members} - {""})
    if len(clouds) >= 2:
        out.append(("MEDIUM", f"one agent is flagged in {len(clouds)} clouds ({', '.join(clouds)})"))
    taken = _ordered(steps, ((DATA_ACCESS,), (EXFILTRATION,)))
    if taken:
        out.append(("HIGH", f"data accessed in {taken[0].provider or 'a cluster'} was then sent out from "
                            f"{taken[1].provider or 'a cluster'}"))
    chain = _ordered(steps, CHAIN)
    if chain:
        spans = sorted({x.provider for x in chain} - {""})
        words = " → ".join(f"{x.step} ({x.provider or '?'})" for x in chain)
        out.append(("CRITICAL" if len(spans) >= 2 else "HIGH", f"the full agent attack chain {words}"))
    return out


def _ordered(steps: tuple[Step, ...], wanted: tuple[tuple[str, ...], ...]) -> tuple[Step, ...]:
    """The earliest steps matching `wanted` in order of event time (with SKEW_MS of slack)."""
    taken: list[Step] = []
    for names in wanted:
        after = taken[-1].time_ms - SKEW_MS if taken else None
        nxt = next((x for x in steps if x.step in names and (after is None or x.time_ms >= after)
                    and x not in taken), None)
        if nxt is None:
            return ()
        taken.append(nxt)
    return tuple(taken)
