"""detect's entity index under a flood: the time-stamped facts stay within MAX_FACTS (the
oldest minutes forgotten early, counted), the count kept as facts arrive is the count of
what is there, and the attack's story still forms from the newest facts."""
import copy

import pytest
from reference_attack import chains, feed, live_order, reference

from weft.detect.core import entity_index
from weft.detect.core.correlate import CorrelationConfig, Correlator
from weft.detect.core.entity_index import EntityIndex
from weft.detect.core.story_render import to_json


def recount(index: EntityIndex) -> int:
    return len(index.events) + sum(len(found) for name in entity_index.TIMESTAMPED
                                   for found in getattr(index, name).values())


def flood(template, first_ms: int, n: int, step_ms: int = 60_000) -> list:
    """n connections of the template's agent to distinct addresses, one every step_ms from first_ms."""
    out = []
    for i in range(n):
        ev = copy.deepcopy(template)
        ev.event_id = f"flood-{first_ms}-{i}"
        ev.kind = ev.NETWORK_CONNECT
        ev.network.dst_ip, ev.network.dst_port = f"198.51.{i // 256 % 256}.{i % 256}", 443
        ev.time.FromMilliseconds(first_ms + i * step_ms)
        out.append(ev)
    return out


@pytest.fixture(scope="module")
def corpus():
    return reference()


def test_the_count_kept_as_facts_arrive_is_what_is_there(corpus):
    correlator = Correlator(chains())
    feed(correlator, live_order(corpus))
    index = correlator.index
    assert index.facts == recount(index) > 0
    index.prune(max(t for t, *_ in index.connects_by_time[next(iter(index.connects_by_time))]))
    assert index.facts == recount(index)


def test_a_flood_of_connections_stays_within_the_budget_oldest_first(corpus):
    index = EntityIndex(max_facts=400)
    template = next(ev for ev in corpus.benign if ev.workload.name)
    for batch in range(10):
        index.add(flood(template, batch * 100 * 60_000, 100))
        assert index.facts == recount(index) <= 400
    assert index.shed == 1000 - index.facts > 0
    kept = sorted(t for rows in index.connects_by_time.values() for t, *_ in rows)
    assert kept[-1] == (999 * 60_000), "the newest facts are kept"
    assert kept[0] > 0, "the oldest went first"
    assert len(kept) == index.facts


def test_one_batch_over_the_budget_is_brought_within_it(corpus):
    index = EntityIndex(max_facts=100)
    index.add(flood(next(ev for ev in corpus.benign if ev.workload.name), 0, 1000))
    assert index.facts <= 100 and index.shed == 1000 - index.facts


def test_an_old_flood_does_not_cost_the_attacks_story(corpus):
    """Connections from hours before the attack fill the budget; the attack's facts are the
    newest, so the story is the same as without the flood."""
    expected = Correlator(chains())
    feed(expected, live_order(corpus))
    first = min(ev.time.ToMilliseconds() for ev in corpus.benign + corpus.attack)
    template = next(ev for ev in corpus.benign if ev.workload.name)
    old = flood(template, first - 6 * 3600_000, 3000, step_ms=5_000)
    budget = recount(expected.index) + 500
    flooded = Correlator(chains(), CorrelationConfig(max_facts=budget))
    feed(flooded, [("events", old), *live_order(corpus)])
    assert flooded.index.shed > 0 and flooded.index.facts <= budget
    assert [to_json(s) for s in flooded.stories()] == [to_json(s) for s in expected.stories()]


def test_detect_says_and_counts_what_it_forgot(corpus, caplog):
    from prometheus_client import REGISTRY

    from weft.detect.storying import Storying
    before = REGISTRY.get_sample_value("weft_detect_index_facts_shed_total") or 0.0
    storying = Storying(max_facts=100)
    storying.events(flood(next(ev for ev in corpus.benign if ev.workload.name), 0, 300))
    shed = storying.correlator.index.shed
    assert shed > 0
    assert REGISTRY.get_sample_value("weft_detect_index_facts_shed_total") == before + shed
    assert REGISTRY.get_sample_value("weft_detect_index_facts") == storying.correlator.index.facts
    assert f"forgot the oldest {shed}" in caplog.text
    storying.events(flood(next(ev for ev in corpus.benign if ev.workload.name), 10**9, 10))
    assert REGISTRY.get_sample_value("weft_detect_index_facts_shed_total") == before + storying.correlator.index.shed


def test_the_budget_survives_a_restart_and_is_a_setting(corpus, monkeypatch):
    """The budget is the running detect's setting, not the saved state's."""
    import json

    from weft.detect import config as detect_config
    from weft.detect.storying import Storying
    storying = Storying(max_facts=5000)
    storying.events(corpus.benign)
    restored = Storying.restored(storying.state(), max_facts=2000)
    assert restored.correlator.index.max_facts == 2000 and restored.correlator.config.max_facts == 2000
    assert restored.correlator.index.facts == storying.correlator.index.facts
    assert "max_facts" not in json.dumps(json.loads(storying.state())["config"])
    monkeypatch.setenv("WEFT_DETECT_MAX_FACTS", "250000")
    assert detect_config.parse([]).max_facts == 250000
    monkeypatch.setenv("WEFT_DETECT_MAX_FACTS", "10")
    with pytest.raises(SystemExit, match="WEFT_DETECT_MAX_FACTS must be at least 1000"):
        detect_config.parse([])
    monkeypatch.delenv("WEFT_DETECT_MAX_FACTS")
    assert detect_config.parse([]).max_facts == entity_index.MAX_FACTS
