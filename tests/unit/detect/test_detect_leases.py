"""Lease decisions for correlation partitions: each live replica claims free partitions up
to its fair share, lowest first, and gives up its excess, highest first, so a replica that
joins gets work and a dead replica's partitions (their leases expired) are claimed."""
from weft.detect.core.leases import Lease, Plan, fair_share, plan


def leases(**owners) -> dict[int, Lease]:
    """leases(a=[0, 1], b=[2]) -> {0: Lease(0, "a", ...), ...}"""
    return {p: Lease(p, owner, 10 + p) for owner, parts in owners.items() for p in parts}


def test_fair_share_rounds_up():
    assert [fair_share(8, n) for n in (1, 2, 3, 8, 9)] == [8, 4, 3, 1, 1]
    assert fair_share(8, 0) == 8


def test_the_first_replica_claims_every_partition():
    assert plan("a", 8, {}, {"a"}) == Plan(claim=tuple(range(8)))


def test_a_replica_that_joins_waits_for_partitions_to_be_given_up():
    assert plan("b", 8, leases(a=range(8)), {"a", "b"}) == Plan()


def test_a_replica_over_its_share_releases_the_highest():
    assert plan("a", 8, leases(a=range(8)), {"a", "b"}) == Plan(release=(4, 5, 6, 7))


def test_released_partitions_are_claimed_up_to_the_share():
    assert plan("b", 8, leases(a=range(4)), {"a", "b"}) == Plan(claim=(4, 5, 6, 7))
    assert plan("c", 8, leases(a=range(3), b=range(3, 6)), {"a", "b", "c"}) == Plan(claim=(6, 7))


def test_a_dead_replicas_partitions_are_claimed_once_its_leases_expire():
    live = leases(a=range(4), b=range(4, 8))
    assert plan("a", 8, live, {"a", "b"}) == Plan()                 # b still renews: nothing to do
    expired = leases(a=range(4))                                       # b's leases and heartbeat gone
    assert plan("a", 8, expired, {"a"}) == Plan(claim=(4, 5, 6, 7))


def test_a_replica_at_its_share_keeps_what_it_has():
    assert plan("a", 8, leases(a=range(3), b=range(3, 6), c=range(6, 8)), {"a", "b", "c"}) == Plan()


def test_the_replica_itself_counts_even_before_its_heartbeat_is_seen():
    assert plan("b", 2, leases(a=[0]), {"a"}) == Plan(claim=(1,))
