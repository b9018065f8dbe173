"""Triage: new -> acknowledged -> closed, or false positive with a reason; the status
survives late signals and restarts; a false positive proposes the suppression that would
have prevented the story, and nothing wider."""
import json

import pytest
from reference_attack import chains, feed, live_order, reference, second_attack

from weft.detect.core.correlate import Correlator
from weft.detect.core.entities import resolve
from weft.detect.core.rulefile import RuleSet
from weft.detect.core.signal_record import Signal
from weft.detect.core.triage import Triage, TriageError, transition


@pytest.mark.parametrize("status, action, reason, expected", [
    ("new", "ack", "", "acknowledged"),
    ("new", "close", "", "closed"),
    ("acknowledged", "close", "contained", "closed"),
    ("new", "false-positive", "lab test", "false_positive"),
    ("acknowledged", "false-positive", "pentest", "false_positive"),
])
def test_allowed_transitions(status, action, reason, expected):
    assert transition(Triage(status), action, reason) == Triage(expected, reason)


@pytest.mark.parametrize("status, action, reason", [
    ("closed", "ack", ""), ("closed", "false-positive", "x"), ("false_positive", "close", ""),
    ("acknowledged", "ack", ""), ("new", "false-positive", "  "), ("new", "reopen", ""),
])
def test_refused_transitions(status, action, reason):
    with pytest.raises(TriageError):
        transition(Triage(status), action, reason)


@pytest.fixture
def correlator():
    c = Correlator(chains())
    feed(c, live_order(reference()))
    return c


def test_status_survives_a_late_signal_and_a_restart(correlator):
    [story] = correlator.stories()
    assert correlator.triage(story.id, "ack").status == "acknowledged"
    other = second_attack()
    feed(correlator, [("events", other.attack), *(("alert", f, ids) for f, ids in other.weft)])
    restarted = Correlator.from_state(json.loads(json.dumps(correlator.to_state())))
    assert restarted.story(story.id).status == "acknowledged"
    assert restarted.triage(story.id, "close").status == "closed"
    assert {s.status for s in restarted.stories() if s.id != story.id} == {"new"}
    with pytest.raises(KeyError):
        restarted.triage("st-0000000000000000", "ack")


def test_a_false_positive_proposes_the_suppression_that_would_have_prevented_it(correlator):
    [story] = correlator.stories()
    closed, proposal = correlator.false_positive(story.id, "red-team exercise")
    assert (closed.status, closed.status_reason) == ("false_positive", "red-team exercise")
    members = correlator.members(story.id)
    assert all(proposal.matches(s, "agents/support-bot") for s in members)
    assert {(x.source, x.event_code) for x in proposal.selectors} == {(s.source, s.event_code) for s in members}
    assert not any(proposal.matches(s, "sales/lead-bot") for s in members)
    other = Signal.from_ocsf(second_attack().providers[0])
    assert not proposal.matches(other, "sales/lead-bot")

    rules = {r.id for r in RuleSet.load()}
    exceptions = proposal.to_dict()["ruleExceptions"]
    assert {x["rule"] for x in exceptions} == {s.event_code for s in members if s.source == "WEFT"} and \
        {x["rule"] for x in exceptions} <= rules
    assert all(x["exceptions"] == [{"reason": "red-team exercise", "match": {"field": "agent",
                                                                             "equals": "agents/support-bot"}}]
               for x in exceptions)

    replay = Correlator(chains())
    for step in live_order(reference()):
        if step[0] == "events":
            replay.add_events(step[1])
            continue
        signal = Signal.from_ocsf(step[1], step[2])
        found = resolve(signal, replay.index, replay.chains)
        if not proposal.matches(signal, found.agent or found.key):
            replay.add_signal(signal)
    assert replay.stories() == []
