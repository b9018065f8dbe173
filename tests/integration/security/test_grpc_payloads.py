"""Odd protobuf through the real gateway (mutual TLS) onto real JetStream: unknown fields
are proto3's to keep, a truncated batch is dead-lettered with its reason, and the good
batches around either are stored."""
from __future__ import annotations

import asyncio

import pytest

from weft.common import subjects
from weft.sensor.uplink import Uplink
from weft.v1 import event_pb2, sensor_pb2

from gateway_kit import Pki, dead_letters, events, hello, mtls_discovery, stored_batches

# Field 999, varint 7 — and field 1000, a length-delimited "future": what a newer sensor might add.
UNKNOWN = bytes([0xB8, 0x3E, 0x07]) + bytes([0xC2, 0x3E, 0x06]) + b"future"


@pytest.fixture
async def sensor(nats_server, tmp_path):
    pki = Pki.create(tmp_path / "pki")
    async with mtls_discovery(nats_server.url, tmp_path / "weft", pki) as app:
        uplink = Uplink(app.gateway, hello("eks", "node-a"), credentials=pki.sensor("eks", "node-a"))
        conn = asyncio.create_task(uplink.run())
        yield uplink
        uplink.close()
        await asyncio.wait_for(conn, 10)


async def upload(uplink: Uplink, data: bytes) -> None:
    await uplink._hold(lambda seq: sensor_pb2.SensorMessage(batch=sensor_pb2.BatchUpload(seq=seq, batch=data)), 1)


def batch_bytes(batch_id: str, evs: list[event_pb2.RuntimeEvent], event_extra: bytes = b"") -> bytes:
    batch = event_pb2.EventBatch(batch_id=batch_id, sensor_id="eks-node-a", node=hello("eks", "node-a").node)
    data = batch.SerializeToString()
    for ev in evs:   # each event framed by hand, so unknown fields can ride inside it
        body = ev.SerializeToString() + event_extra
        data += b"\x22" + varint(len(body)) + body
    return data


def varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


async def test_unknown_fields_are_accepted_and_kept(sensor, nats_server):
    evs = events("eks", "node-a", 0, 5)
    await upload(sensor, batch_bytes("b-unknown", evs, event_extra=UNKNOWN) + UNKNOWN)
    await sensor.send_events(events("eks", "node-a", 5, 5))
    assert await sensor.flush(timeout=10)
    assert sensor.stats["deadlettered"] == 0
    stored = await stored_batches(nats_server.url, 2)
    assert [s for s, _ in stored] == [subjects.events("eks")] * 2
    assert sorted(e.event_id for _, b in stored for e in b.events) == [f"eks-node-a-{i}" for i in range(10)]
    forward = next(b for _, b in stored if b.batch_id == "b-unknown")
    # proto3 keeps unknown fields: a newer sensor's additions reach the newer stages intact
    assert forward.SerializeToString().endswith(UNKNOWN)
    assert all(e.SerializeToString().endswith(UNKNOWN) for e in forward.events)


async def test_a_truncated_batch_is_dead_lettered_and_the_good_ones_around_it_stored(sensor, nats_server):
    await sensor.send_events(events("eks", "node-a", 0, 10))
    whole = batch_bytes("b-truncated", events("eks", "node-a", 10, 10))
    await upload(sensor, whole[:-7])
    await sensor.send_events(events("eks", "node-a", 20, 10))
    assert await sensor.flush(timeout=10)
    assert sensor.stats["acked"] == 3 and sensor.stats["deadlettered"] == 1
    stored = await stored_batches(nats_server.url, 2)
    assert sorted(e.event_id for _, b in stored for e in b.events) == sorted(
        f"eks-node-a-{i}" for i in [*range(10), *range(20, 30)])
    [letter] = await dead_letters(nats_server.url, 1)
    assert "undecodable weft.v1.EventBatch" in letter.reason
    assert letter.origin == "discovery gateway sensor=eks-node-a" and letter.payload == whole[:-7]
