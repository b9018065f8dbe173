"""Reading stage input: the message a subject promises, or a reason to dead-letter it."""
import pytest

from weft.common import codec, intake
from weft.v1 import bus_pb2, event_pb2


def test_a_batch_is_read_by_its_subject_and_identified_by_its_msg_id():
    batch = codec.make_batch([event_pb2.RuntimeEvent(event_id="e1")], "s1")
    got = intake.read("weft.events.v1.eks", {codec.H_MSG_ID: "b-1"}, batch.SerializeToString())
    assert (got.family, got.content_id, got.type_name, got.skipped) == ("events", "b-1", "weft.v1.EventBatch", False)
    assert got.message == batch


def test_without_a_msg_id_the_content_is_the_id():
    data = bus_pb2.RawRecord(format="guardduty", data=b"{}").SerializeToString()
    assert intake.read("weft.signals.v1.aws", None, data).content_id == \
        intake.read("weft.signals.v1.aws", {}, data).content_id != intake.content_id(None, data + b" ")


@pytest.mark.parametrize("subject, headers, data, reason", [
    ("weft.events.v1.eks", {}, b"\x00garbage", "undecodable weft.v1.EventBatch"),
    ("weft.events.v1.eks", {}, b"", "weft.v1.EventBatch has no events"),
    ("weft.events.v1.eks", {codec.H_TYPE: "weft.v1.RawRecord"}, b"", "cannot travel on weft.events.v1.eks"),
    ("weft.audit.v1.gcp", {}, bus_pb2.RawRecord(data=b"x").SerializeToString(), "has no format"),
    ("weft.declarations.v1", {}, bus_pb2.RawRecord(format="kubernetes").SerializeToString(), "has no data"),
    ("weft.inventory.v1", {codec.H_TYPE: "weft.v1.WorkloadSeen"}, b"\x00garbage", "undecodable weft.v1.WorkloadSeen"),
    ("weft.stories.v1", {}, b"\x00garbage", "undecodable google.protobuf.Empty"),
    ("other.subject", {}, b"", "not a weft v1 subject"),
])
def test_what_cannot_be_read_says_why(subject, headers, data, reason):
    with pytest.raises(codec.InvalidInput, match=reason):
        intake.read(subject, headers, data)


def test_a_family_without_a_contract_yet_is_read_and_marked_skipped():
    data = bus_pb2.WorkloadSeen(cluster="eks", name="agent").SerializeToString()
    got = intake.read("weft.inventory.v1", {codec.H_TYPE: "weft.v1.WorkloadSeen"}, data)
    assert got.skipped and got.message.name == "agent"
