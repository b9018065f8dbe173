"""Triage of a story, as pure transitions, and the suppression a false positive proposes.

    new -> acknowledged -> closed
    new | acknowledged -> false_positive (with a reason)
    new -> closed

Closed and false-positive stories stay so. A false positive proposes what would have
prevented the story: per signal source and event code, a selector on that agent (for the
correlation intake to drop), and for weft's own rules the rule-file exception that says
the same in the rule's own language (`exceptions: [{reason, match: {field: agent, equals}}]`).
Nothing is applied here: the proposal is shown and a person decides.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from weft.detect.core.signal_record import Signal
from weft.detect.core.story import ACKNOWLEDGED, CLOSED, FALSE_POSITIVE, NEW, Story

ACK, CLOSE, FALSE = "ack", "close", "false-positive"
ALLOWED = {NEW: {ACKNOWLEDGED, CLOSED, FALSE_POSITIVE}, ACKNOWLEDGED: {CLOSED, FALSE_POSITIVE},
           CLOSED: set(), FALSE_POSITIVE: set()}
WEFT = "WEFT"


class TriageError(ValueError):
    """A transition a story's status does not allow, or a false positive without a reason."""


@dataclass(frozen=True)
class Triage:
    status: str = NEW
    reason: str = ""


def transition(current: Triage, action: str, reason: str = "") -> Triage:
    """The triage after `action` (ack, close, false-positive); TriageError when not allowed."""
    target = {ACK: ACKNOWLEDGED, CLOSE: CLOSED, FALSE: FALSE_POSITIVE}.get(action)
    if target is None:
        raise TriageError(f"unknown triage action {action!r}; expected one of: {ACK}, {CLOSE}, {FALSE}")
    if target not in ALLOWED[current.status]:
        raise TriageError(f"a story that is {current.status.replace('_', ' ')} cannot be "
                          f"{target.replace('_', ' ')}")
    if target == FALSE_POSITIVE and not reason.strip():
        raise TriageError("a false positive needs a reason")
    return Triage(target, reason.strip())


@dataclass(frozen=True, order=True)
class Selector:
    source: str                     # GUARDDUTY, DEFENDER, SCC, FALCO, TETRAGON, WEFT
    event_code: str                 # the finding type, alert type, category or rule id
    agent: str                      # the logical agent (or the story's key when it has none)

    def matches(self, signal: Signal, agent: str) -> bool:
        return (signal.source, signal.event_code, agent) == (self.source, self.event_code, self.agent)


@dataclass(frozen=True)
class Suppression:
    story: str
    reason: str
    selectors: tuple[Selector, ...]
    rule_exceptions: tuple[dict, ...]     # {"rule": id, "exceptions": [{"reason", "match"}]} for weft's rules

    def matches(self, signal: Signal, agent: str) -> bool:
        return any(s.matches(signal, agent) for s in self.selectors)

    def to_dict(self) -> dict:
        return {"story": self.story, "reason": self.reason,
                "selectors": [{"source": s.source, "eventCode": s.event_code, "agent": s.agent}
                              for s in self.selectors],
                "ruleExceptions": list(self.rule_exceptions)}


def propose_suppression(story: Story, members: Iterable[Signal], reason: str) -> Suppression:
    agent = story.agent.name or story.key
    selectors = tuple(sorted({Selector(s.source, s.event_code, agent) for s in members}))
    exceptions = tuple({"rule": s.event_code,
                        "exceptions": [{"reason": reason, "match": {"field": "agent", "equals": agent}}]}
                       for s in selectors if s.source == WEFT and s.event_code)
    return Suppression(story.id, reason, selectors, exceptions)
