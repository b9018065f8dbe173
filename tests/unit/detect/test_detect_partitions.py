"""Correlation split by partition: the partition of a key is stable and spread; replicas
that each build only the keys of their partitions, fed everything, tell together exactly
the stories one correlator tells, each story once; and a replica that takes a partition
over (late, or after the owner's loss) tells its stories at once, from what it holds."""
import random

import pytest
from reference_attack import chains, feed, live_order, reference, second_attack

from weft.detect.core.correlate import CorrelationConfig, Correlator
from weft.detect.core.partitions import owner_of, partition_of
from weft.detect.core.story_render import to_json


def test_a_key_has_one_stable_partition_and_keys_spread_over_all():
    assert partition_of("agent:agents/support-bot", 8) == partition_of("agent:agents/support-bot", 8)
    assert partition_of("agent:agents/support-bot", 8) == 2           # fixed: the hash is not Python's hash()
    counts = [0] * 8
    for i in range(4000):
        counts[partition_of(f"agent:ns/agent-{i}", 8)] += 1
    assert min(counts) > 400, counts
    assert {partition_of(f"k{i}", 1) for i in range(50)} == {0}


def test_a_partition_count_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        partition_of("agent:x", 0)


def steps():
    ref, second = reference(), second_attack()
    return [*live_order(ref), *live_order(second)]


def told(*correlators: Correlator) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for c in correlators:
        for s in c.stories():
            assert s.id not in out, f"story {s.id} told by two replicas"
            out[s.id] = to_json(s)
    return out


def replica(partitions, count: int) -> Correlator:
    c = Correlator(chains())
    c.own(owner_of(partitions, count))
    return c


@pytest.mark.parametrize("count", [2, 8])
def test_replicas_owning_complementary_partitions_tell_one_correlators_stories(count):
    one = Correlator(chains())
    feed(one, steps())
    assert len(one.stories()) == 2
    a, b = replica(range(0, count, 2), count), replica(range(1, count, 2), count)
    mixed = steps()
    random.Random(7).shuffle(mixed)           # each replica reads the bus at its own pace
    feed(a, steps())
    feed(b, mixed)
    assert told(a, b) == told(one)


def test_a_replica_taking_partitions_over_tells_their_open_stories_at_once():
    one = Correlator(chains())
    feed(one, steps())
    survivor = replica([0], 2)
    feed(survivor, steps())
    told_before = set(told(survivor))
    assert told_before < set(told(one)), "the dead replica's stories were not the survivor's to tell"
    taken = survivor.own(owner_of([0, 1], 2))
    assert {s.id for s in taken.stories} == set(told(one)) - told_before
    assert not taken.retired, "stories that move are not retired"
    assert told(survivor) == told(one)


def test_a_partition_given_up_is_no_longer_told_and_its_signals_are_kept():
    c = Correlator(chains())
    feed(c, steps())
    c.own(owner_of([], 2))
    assert c.stories() == []
    again = c.own(owner_of([0, 1], 2))
    assert {s.id for s in again.stories} == {s.id for s in c.stories()} and len(c.stories()) == 2


def test_a_replica_owning_nothing_saves_the_state_one_correlator_saves():
    one, none = Correlator(chains()), replica([], 2)
    feed(one, steps())
    feed(none, steps())
    assert none.to_state()["signals"] == one.to_state()["signals"]
    assert none.to_state()["index"] == one.to_state()["index"]


def test_a_replica_owning_nothing_forgets_old_signals_when_their_owner_does():
    short = CorrelationConfig(retention_ms=5 * 60_000)       # the first attack is past it by the second's end
    one, none, unpruned = Correlator(chains(), short), Correlator(chains(), short), Correlator(chains())
    none.own(owner_of([], 2))
    for c in (one, none, unpruned):
        feed(c, steps())
    kept = one.to_state()["signals"]
    assert 0 < len(kept) < len(unpruned.to_state()["signals"])
    assert none.to_state()["signals"] == kept
    none.own(owner_of([0, 1], 2))
    assert told(none) == told(one)
