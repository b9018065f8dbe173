"""Batches built from the events' own bytes are the batches make_batch builds."""
import json
from pathlib import Path

from weft.common import codec
from weft.v1 import event_pb2

RECORDED = Path(__file__).resolve().parents[2] / "data" / "recorded-events.jsonl"


def events() -> list[event_pb2.RuntimeEvent]:
    return [codec.event_from_json(l) for l in RECORDED.read_text().splitlines()[:300]]


def test_encoded_batch_parses_to_the_same_batch_as_make_batch():
    evs = events()
    node = event_pb2.Node(cluster="eks", provider=event_pb2.Node.AWS, name="n1")
    bid, data = codec.encode_batch(evs, "sensor-1", node)
    parsed = event_pb2.EventBatch.FromString(data)
    assert parsed == codec.make_batch(evs, "sensor-1", node) and parsed.batch_id == bid
    assert [json.loads(codec.event_to_json(e)) for e in parsed.events] == \
        [json.loads(codec.event_to_json(e)) for e in evs]


def test_the_batch_id_depends_on_the_events_and_the_sensor():
    evs = events()
    assert codec.encode_batch(evs, "a")[0] == codec.encode_batch(list(evs), "a")[0]
    assert codec.encode_batch(evs, "a")[0] != codec.encode_batch(evs, "b")[0]
    assert codec.encode_batch(evs, "a")[0] != codec.encode_batch(evs[1:], "a")[0]


def test_events_of_every_size_are_framed_as_protobuf_frames_them():
    sizes = [0, 1, 100, 127, 128, 4095, 4096, 20_000]     # the frames looked up, and those past the table
    evs = [event_pb2.RuntimeEvent(event_id=f"e{i}", kind=event_pb2.RuntimeEvent.FILE_OPEN,
                                  file=event_pb2.File(path="p" * n)) for i, n in enumerate(sizes)]
    bid, data = codec.encode_batch(evs, "s")
    assert data == codec.make_batch(evs, "s").SerializeToString()


def test_the_batch_id_is_the_digest_of_the_sensor_and_each_id_nul_terminated():
    import hashlib
    evs = events()[:5]
    want = hashlib.blake2b(b"s", digest_size=16)
    want.update(b"".join(e.event_id.encode() + b"\0" for e in evs))
    assert codec.batch_id_of("s", evs) == want.hexdigest()
