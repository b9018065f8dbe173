"""The sensor's HTTP endpoints against a real gateway: alive from the start, ready only
while connected, and /metrics saying what was sent, acknowledged and enforced; a
port already taken is a clear error before anything is dialled."""
from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import aiohttp

from weft.common import codec
from weft.sensor import health
from weft.sensor.uplink import Uplink
from weft.v1 import event_pb2, sensor_pb2

from pipeline_support import RECORDED

WEFT = [sys.executable, "-m", "weft.cli.main"]


def hello() -> sensor_pb2.Hello:
    return sensor_pb2.Hello(sensor_id="health-eks", node=event_pb2.Node(cluster="eks", name="node-a"))


async def get(session: aiohttp.ClientSession, port: int, path: str) -> tuple[int, str]:
    async with session.get(f"http://127.0.0.1:{port}{path}") as resp:
        return resp.status, await resp.text()


def sample(metrics: str, line_start: str) -> float:
    [value] = [line.rsplit(" ", 1)[1] for line in metrics.splitlines() if line.startswith(line_start + " ")]
    return float(value)


async def test_alive_at_once_ready_while_connected_and_metrics_of_what_was_sent(discovery):
    uplink = Uplink(discovery.gateway, hello())
    enforcement = {"support-bot": {"mode": "audit", "counters": {"allowed": 7, "audited": 2, "blocked": 0}}}
    stats = lambda: {"records": 41, "events_lost": 3, "programs_loaded": ["exec", "tcp"],  # noqa: E731
                     "enforcement": enforcement, "ring_fill": 0.625, "nice": 0, "times_behind": 2}
    async with health.serving(uplink, "127.0.0.1", 0) as port, aiohttp.ClientSession() as session:
        assert await get(session, port, "/healthz") == (200, '{"service": "sensor", "ok": true}')
        assert (await get(session, port, "/readyz"))[0] == 503   # not connected yet
        conn = asyncio.create_task(uplink.run())
        await asyncio.wait_for(uplink.connected.wait(), 10)
        health.METRICS.stats = lambda: {"programs_loaded": []}   # connected, its programs still loading
        assert (await get(session, port, "/readyz"))[0] == 503
        health.METRICS.stats = stats
        assert (await get(session, port, "/readyz"))[0] == 200
        events = [codec.event_from_json(line) for line in RECORDED.read_text().splitlines()[:30]]
        await uplink.send_events(events[:10])
        await uplink.send_events(events[10:])
        assert await uplink.flush(timeout=10)

        status, metrics = await get(session, port, "/metrics")
        assert status == 200
        assert sample(metrics, "weft_sensor_events_total") == 30
        assert sample(metrics, "weft_sensor_batches_acked_total") == 2
        assert sample(metrics, "weft_sensor_unacked_batches") == 0
        assert sample(metrics, "weft_sensor_gateway_connected") == 1
        assert sample(metrics, "weft_sensor_kernel_records_lost_total") == 3
        assert sample(metrics, "weft_sensor_ring_fill") == 0.625   # behind: full priority, the second time
        assert sample(metrics, "weft_sensor_nice") == 0 and sample(metrics, "weft_sensor_fell_behind_total") == 2
        assert sample(metrics, 'weft_sensor_policy_decisions_total{mode="audit",policy="support-bot",'
                               'verdict="audited"}') == 2
        status, body = await get(session, port, "/v1/status")   # loopback: no token needed
        assert status == 200 and '"events_total": 30' in body
        uplink.close()
        await asyncio.wait_for(conn, 10)
    assert "weft_sensor_events_total" not in (await asyncio.to_thread(_scrape_registry))   # gone with it


def _scrape_registry() -> str:
    from prometheus_client import generate_latest
    return generate_latest().decode()


def test_a_port_already_taken_is_refused_before_dialling(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    recording = tmp_path / "one.jsonl"
    recording.write_text("")
    try:
        done = subprocess.run([*WEFT, "sensor", "--source", "replay", str(recording), "--cluster", "eks",
                               "--gateway", "127.0.0.1:1", "--http-port", str(port)],
                              capture_output=True, text=True, timeout=60)
    finally:
        taken.close()
    assert done.returncode == 2, done.stderr
    assert f"--http-port {port}: " in done.stderr and "in use" in done.stderr
