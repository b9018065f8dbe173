"""Correlation is a function of what it was given, not of the order or of restarts: provider
alerts shuffled and minutes late, alerts ahead of the events that explain them, every
event shuffled, and detect restarted (state saved as JSON, loaded, continued) anywhere in
the stream give the same stories with the same ids and the same saved state."""
import itertools
import json
import random

import pytest
from reference_attack import chains, feed, live_order, reference, second_attack

from weft.detect.core.correlate import CorrelationConfig, Correlator
from weft.detect.core.story_render import to_json


def outcome(correlator: Correlator) -> list[dict]:
    return [to_json(s) for s in correlator.stories()]


def run(steps) -> Correlator:
    correlator = Correlator(chains())
    feed(correlator, steps)
    return correlator


def state_text(correlator: Correlator) -> str:
    return json.dumps(correlator.to_state(), sort_keys=True)


@pytest.fixture(scope="module")
def corpus():
    return reference()


@pytest.fixture(scope="module")
def expected(corpus):
    return outcome(run(live_order(corpus)))


def test_provider_alerts_in_any_order_minutes_late_give_the_same_story(corpus, expected):
    early = [("events", corpus.benign), ("events", corpus.attack), *(("alert", f, ids) for f, ids in corpus.weft)]
    for order in itertools.permutations(corpus.providers):
        assert outcome(run([*early, *(("alert", f, ()) for f in order)])) == expected


def test_alerts_ahead_of_the_events_that_explain_them_end_up_in_the_same_story(corpus, expected):
    alerts_first = [*(("alert", f, ()) for f in reversed(corpus.providers)),
                    *(("alert", f, ids) for f, ids in reversed(corpus.weft)),
                    ("events", corpus.attack), ("events", corpus.benign)]
    correlator = Correlator(chains())
    updates = feed(correlator, alerts_first)
    assert len({s.id for s in correlator.stories()}) == 1
    assert outcome(correlator) == expected
    assert any(u.retired for u in updates)        # the stories told before the events were merged away


@pytest.mark.parametrize("seed", range(8))
def test_any_interleaving_of_events_and_alerts_gives_the_same_stories_and_state(corpus, expected, seed):
    steps = [("events", [ev]) for ev in corpus.benign + corpus.attack]
    steps += [("alert", f, ids) for f, ids in corpus.weft] + [("alert", f, ()) for f in corpus.providers]
    random.Random(seed).shuffle(steps)
    correlator = run(steps)
    assert outcome(correlator) == expected
    assert state_text(correlator) == state_text(run(live_order(corpus)))


@pytest.mark.parametrize("cut", range(0, 10))
def test_a_restart_anywhere_continues_to_the_same_stories(corpus, expected, cut):
    other = second_attack()
    steps = [*live_order(corpus), ("events", other.attack), *(("alert", f, ids) for f, ids in other.weft),
             *(("alert", f, ()) for f in other.providers)]
    assert cut < len(steps)
    uninterrupted = run(steps)
    before = run(steps[:cut])
    restarted = Correlator.from_state(json.loads(json.dumps(before.to_state())))
    assert outcome(restarted) == outcome(before)
    feed(restarted, steps[cut:])
    assert outcome(restarted) == outcome(uninterrupted)
    assert outcome(uninterrupted)[0] == expected[0]
    assert state_text(restarted) == state_text(uninterrupted)


def test_a_late_signal_earlier_than_every_member_renames_the_story_and_keeps_its_triage(corpus):
    guardduty = corpus.providers[0]                       # the earliest activity of the attack
    correlator = run([("events", corpus.benign + corpus.attack), *(("alert", f, ids) for f, ids in corpus.weft)])
    [before] = correlator.stories()
    correlator.triage(before.id, "ack")
    update = correlator.add_alert(guardduty)
    [after] = correlator.stories()
    assert update.retired == (before.id,) and [s.id for s in update.stories] == [after.id]
    assert after.id != before.id and after.status == "acknowledged"
    assert guardduty["finding_info"]["uid"] == after.signals[0].id


def test_a_redelivered_alert_changes_nothing(corpus):
    correlator = run(live_order(corpus))
    state = state_text(correlator)
    update = correlator.add_alert(corpus.providers[1])
    assert update.stories == () and update.retired == ()
    assert state_text(correlator) == state


def test_signals_of_one_agent_further_apart_than_the_join_window_are_two_stories(corpus):
    correlator = Correlator(chains(), CorrelationConfig(join_window_ms=2_000))
    feed(correlator, live_order(corpus))
    stories = correlator.stories()
    assert len(stories) == 2 and {s.agent.name for s in stories} == {"agents/support-bot"}
    assert stories[1].first_ms - stories[0].last_ms > 2_000


def test_identity_chains_arriving_after_the_alerts_bring_the_defender_alert_in(corpus, expected):
    correlator = Correlator([])
    feed(correlator, live_order(corpus))
    assert len(correlator.stories()) == 2
    update = correlator.set_chains(chains())
    assert len(update.retired) == 1 and outcome(correlator) == expected


def test_stories_older_than_the_retention_are_forgotten_on_event_time(corpus):
    correlator = Correlator(chains(), CorrelationConfig(retention_ms=3600_000))
    feed(correlator, live_order(corpus))
    other = second_attack()
    later = other.providers[0]
    assert later["time"] - max(s.last_ms for s in correlator.stories()) < 3600_000
    correlator.add_alert(later)
    assert len(correlator.stories()) == 2                  # 17 minutes later: both kept
    moved = json.loads(json.dumps(later))
    moved["time"] += 3 * 3600_000
    moved["finding_info"]["uid"] += "-later"
    correlator.add_alert(moved)
    assert [s.agent.name for s in correlator.stories()] == ["sales/lead-bot"]
    assert all(s["id"] == moved["finding_info"]["uid"] for s in correlator.to_state()["signals"])


def test_a_state_saved_with_the_derived_tables_still_loads_to_the_same_stories(corpus, expected):
    """States saved before `acceptors_of_peer` and `servers_of_session` became derived carry
    both tables; they load, are not read, and the lookups are rebuilt from the facts."""
    correlator = run(live_order(corpus))
    state = json.loads(json.dumps(correlator.to_state()))
    index = state["index"]
    assert "acceptors_of_peer" not in index and "servers_of_session" not in index
    assert index["accepts"] and index["mcp_servers"], "the corpus has accepts and MCP servers"
    index["acceptors_of_peer"] = [[peer, t, agent] for agent, t, peer, *_ in index["accepts"]]
    index["servers_of_session"] = [[session, agent] for agent, _, session, *_ in index["mcp_servers"]]
    restored = Correlator.from_state(state)
    assert outcome(restored) == expected
    assert restored.index.accept_times == correlator.index.accept_times
    assert restored.index.servers_of_session == correlator.index.servers_of_session
    assert state_text(restored) == state_text(correlator)
