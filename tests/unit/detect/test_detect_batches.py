"""detect's pure batch logic: valid events kept, bad ones refused alone, counts by kind."""
from datetime import datetime, timezone

from weft.common import codec
from weft.detect.core import batches
from weft.v1 import event_pb2

E = event_pb2.RuntimeEvent


def ev(i: int, kind: int, count: int = 1) -> E:
    e = E(event_id=f"e{i}", kind=kind, count=count)
    e.time.FromSeconds(1_700_000_000 + i)
    return e


def test_split_keeps_valid_events_and_wraps_each_refused_one_as_a_batch():
    node = event_pb2.Node(cluster="", name="n1")
    batch = codec.make_batch([ev(1, E.DNS_QUERY), E(event_id="e2", kind=E.DNS_QUERY), ev(3, E.FILE_OPEN)], "s1", node)
    split = batches.count_batch(batch, "weft.events.v1.gke%2Eeu")
    assert split.accepted == 2 and set(split.counts) == {"DNS_QUERY", "FILE_OPEN"}
    [refused] = split.rejected
    assert [e.event_id for e in refused.batch.events] == ["e2"] and refused.batch.sensor_id == "s1"
    assert refused.reason == f"event 1 (e2) of batch {batch.batch_id}: event e2 has no time"
    assert (split.cluster, split.node) == ("gke.eu", "n1")  # from the subject when the node has none


def test_counts_by_kind_sum_events_and_occurrences_over_event_time():
    batch = codec.make_batch([ev(5, E.DNS_QUERY, 3), ev(1, E.DNS_QUERY), ev(2, E.FILE_OPEN)], "s1")
    counts = batches.count_batch(batch, "weft.events.v1.eks").counts
    t = lambda i: datetime.fromtimestamp(1_700_000_000 + i, timezone.utc)  # noqa: E731
    assert counts == {"DNS_QUERY": batches.KindCount(2, 4, t(1), t(5)),
                      "FILE_OPEN": batches.KindCount(1, 1, t(2), t(2))}


def test_an_unknown_kind_number_and_a_missing_id_are_refused_with_their_reason():
    batch = codec.make_batch([ev(1, 99), E(kind=E.DNS_QUERY, time=ev(2, 1).time), ev(3, E.FILE_OPEN)], "s1")
    split = batches.count_batch(batch, "weft.events.v1.eks")
    assert split.accepted == 1
    assert [r.reason.split(": ", 1)[1] for r in split.rejected] == ["unknown event kind 99", "event has no eventId"]
