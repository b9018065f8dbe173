"""The gateway's parsed batches, served to its own consumer only for the same bytes."""
from weft.discovery.recent import RecentBatches
from weft.v1 import event_pb2


def batch(bid: str, n: int = 1) -> tuple[bytes, event_pb2.EventBatch]:
    b = event_pb2.EventBatch(batch_id=bid, events=[event_pb2.RuntimeEvent(event_id=f"{bid}-{i}") for i in range(n)])
    return b.SerializeToString(), b


def test_the_same_bytes_get_the_parsed_batch_once():
    recent = RecentBatches()
    data, b = batch("a")
    recent.keep("s1:a", data, b)
    assert recent.take("s1:a", bytes(data)) is b
    assert recent.take("s1:a", data) is None and len(recent) == 0


def test_other_bytes_under_the_same_id_are_never_served():
    recent = RecentBatches()
    data, b = batch("a")
    recent.keep("s1:a", data, b)
    other, _ = batch("a", 2)
    assert recent.take("s1:a", other) is None


def test_unknown_or_missing_ids_miss():
    recent = RecentBatches()
    data, b = batch("a")
    recent.keep("", data, b)
    assert recent.take("", data) is None and recent.take("s1:b", data) is None


def test_kept_bytes_stay_under_the_bound_oldest_dropped_first():
    data, b = batch("x", 10)
    recent = RecentBatches(max_bytes=3 * len(data))
    for i in range(5):
        recent.keep(f"id{i}", data, b)
    assert len(recent) == 3
    assert recent.take("id0", data) is None and recent.take("id4", data) is b
