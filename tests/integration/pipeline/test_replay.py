"""Replay a recorded JSONL through the replay sensor, the gateway and JetStream."""
from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys

from google.protobuf import json_format

from weft.cli.main import main as weft
from weft.common import codec
from weft.sensor import runner
from weft.sensor.uplink import Uplink
from weft.v1 import event_pb2, sensor_pb2

from pipeline_support import RECORDED, dead_letters, recorded, stream_events


def hello(cluster="eks", version=0) -> sensor_pb2.Hello:
    return sensor_pb2.Hello(sensor_id=f"test-{cluster}", protocol_version=version,
                            node=event_pb2.Node(cluster=cluster, name="node-a"))


async def test_replay_delivers_every_event_once_with_every_field(discovery, nats_server):
    uplink = Uplink(discovery.gateway, hello())
    with open(RECORDED, "rb") as f:
        summary = await runner.run_replay(uplink, f, "recorded-events.jsonl", speed=0)
    expected = recorded()
    assert summary["acked"] == summary["batches"] and summary["rejects"] == 0
    events = await stream_events(nats_server.url, len(expected))
    assert len(events) == len(expected)
    got = {e.event_id: json.loads(codec.event_to_json(e)) for e in events}
    assert len(got) == len(expected), "an event was stored twice"
    for ev in expected:
        assert got[ev["eventId"]] == ev


async def test_export_gives_back_the_replayed_events(discovery, nats_server, tmp_path):
    uplink = Uplink(discovery.gateway, hello())
    with open(RECORDED, "rb") as f:
        await runner.run_replay(uplink, f, "recorded-events.jsonl", speed=0)
    await stream_events(nats_server.url, len(recorded()))
    out = tmp_path / "export.jsonl"
    rc = await asyncio.to_thread(weft, ["events", "export", "--since", "10m", "-o", str(out)])
    assert rc == 0
    exported = {json.loads(l)["eventId"]: json.loads(l) for l in out.read_text().splitlines()}
    assert exported == {e["eventId"]: e for e in recorded()}


async def test_bad_lines_are_dead_lettered_and_good_ones_delivered(discovery, nats_server, tmp_path):
    good = RECORDED.read_text().splitlines()[:20]
    unknown = json.loads(good[0]) | {"eventId": "ev-unknown", "kind": "TELEPATHY"}
    lines = good[:5] + [good[5][: len(good[5]) // 2]] + good[6:12] + [json.dumps(unknown)] + good[12:]
    f = io.BytesIO(("\n".join(lines) + "\n").encode())
    summary = await runner.run_replay(Uplink(discovery.gateway, hello()), f, "mixed.jsonl", speed=0)
    assert summary["rejects"] == 2
    events = await stream_events(nats_server.url, 19)
    assert sorted(e.event_id for e in events) == sorted(json.loads(l)["eventId"] for l in good[:5] + good[6:])
    letters = await dead_letters(nats_server.url, 2)
    reasons = {dl.origin.split(":")[-1]: dl.reason for dl in letters}
    assert "invalid JSON" in reasons["6"]
    assert "unknown event kind 'TELEPATHY'" in reasons["13"]


async def test_malformed_batch_is_dead_lettered_and_the_stream_goes_on(discovery, nats_server):
    uplink = Uplink(discovery.gateway, hello())
    conn = asyncio.create_task(uplink.run())
    await uplink._hold(lambda seq: sensor_pb2.SensorMessage(
        batch=sensor_pb2.BatchUpload(seq=seq, batch=b"\x0a\xff\xff not protobuf")), 0)
    evs = [codec.event_from_json(l) for l in RECORDED.read_text().splitlines()[:10]]
    await uplink.send_events(evs)
    assert await uplink.flush(timeout=10)
    uplink.close()
    await asyncio.wait_for(conn, 10)
    assert uplink.stats["deadlettered"] == 1
    assert len(await stream_events(nats_server.url, 10)) == 10
    [dl] = await dead_letters(nats_server.url, 1)
    assert "undecodable weft.v1.EventBatch" in dl.reason and "discovery gateway" in dl.origin
    assert dl.payload == b"\x0a\xff\xff not protobuf"


async def test_unsupported_protocol_version_is_refused_clearly(discovery):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "weft.cli.main", "sensor", "--source", "replay", str(RECORDED),
        "--cluster", "eks", "--gateway", discovery.gateway, "--protocol-version", "99",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 3
    msg = err.decode()
    assert "refused" in msg and "protocol 99" in msg and "serves 1" in msg
    assert "Traceback" not in msg


async def test_sensor_resends_unacknowledged_after_gateway_restart(discovery, nats_server, tmp_path):
    """Kill discovery mid-stream and restart it: nothing lost, nothing stored twice."""
    from weft.discovery.app import build_app
    from weft.discovery.config import DiscoveryConfig
    port = discovery.grpc_port
    lines = RECORDED.read_text().splitlines()
    uplink = Uplink(discovery.gateway, hello(), max_buffer=10_000)
    conn = asyncio.create_task(uplink.run())
    evs = [codec.event_from_json(l) for l in lines]
    for i in range(0, 150, 10):
        await uplink.send_events(evs[i:i + 10])
    await asyncio.sleep(0.2)
    await discovery.stop()                      # mid-stream: some batches unacked
    for i in range(150, len(evs), 10):         # the sensor keeps collecting while disconnected
        await uplink.send_events(evs[i:i + 10])
    assert uplink.unacked, "nothing was left unacknowledged: the test proves nothing"
    again = build_app(DiscoveryConfig(data_dir=tmp_path / "weft2", nats_url=nats_server.url, grpc_port=port))
    await again.start()
    try:
        assert await uplink.flush(timeout=30)
        uplink.close()
        await asyncio.wait_for(conn, 10)
        events = await stream_events(nats_server.url, len(evs))
        ids = [e.event_id for e in events]
        assert len(ids) == len(evs) and set(ids) == {e.event_id for e in evs}
        assert uplink.stats["reconnects"] >= 1
    finally:
        await again.stop()


async def test_a_batch_too_large_for_the_bus_is_refused_not_retried_forever(discovery, nats_server):
    uplink = Uplink(discovery.gateway, hello())
    conn = asyncio.create_task(uplink.run())
    await uplink._hold(lambda seq: sensor_pb2.SensorMessage(
        batch=sensor_pb2.BatchUpload(seq=seq, batch=b"\x0a" + b"x" * (9 * 1024 * 1024))), 0)
    await uplink.send_events([codec.event_from_json(l) for l in RECORDED.read_text().splitlines()[:5]])
    assert await uplink.flush(timeout=15)
    uplink.close()
    await asyncio.wait_for(conn, 10)
    assert uplink.stats["deadlettered"] == 1 and uplink.stats["reconnects"] == 0
    assert len(await stream_events(nats_server.url, 5)) == 5
    [dl] = await dead_letters(nats_server.url, 1)
    assert "exceeds the bus limit" in dl.reason
