"""The eBPF sensor's uplink when the gateway goes away mid-stream: real kernel events,
real gRPC, real JetStream — nothing lost, nothing stored twice; and a quiet sensor
stops as soon as it is asked to."""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from pipeline_support import stream_events
from weft.common import cgroupfs
from weft.discovery.app import build_app
from weft.discovery.config import DiscoveryConfig
from weft.sensor import runner
from weft.sensor.errors import preflight
from weft.sensor.uplink import Uplink
from weft.v1 import event_pb2, sensor_pb2

pytestmark = [pytest.mark.ebpf, pytest.mark.skipif(bool(preflight()), reason="; ".join(preflight()) or "-")]


def opener(cgroup, directory, n: int, pause: float) -> subprocess.Popen:
    code = (f"import os, time\nfor i in range({n}):\n"
            f"    os.close(os.open('{directory}/f%d' % i, os.O_CREAT | os.O_WRONLY, 0o600))\n"
            f"    time.sleep({pause})\n")
    return subprocess.Popen(["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(cgroup),
                             sys.executable, "-c", code])


@pytest.fixture
def watched(tmp_path):
    cgroup = cgroupfs.v2_mount() / f"weft-reconnect-{os.getpid()}"
    cgroup.mkdir()
    files = Path(tempfile.mkdtemp(prefix="weft-rc-"))  # short: prefixes are < 64 bytes in the kernel
    yield cgroup, files
    shutil.rmtree(files, ignore_errors=True)
    for _ in range(50):
        try:
            cgroup.rmdir()
            break
        except OSError:
            time.sleep(0.1)


async def test_ebpf_events_survive_a_gateway_restart_once_each(discovery, nats_server, tmp_path, watched):
    from weft.sensor.ebpf import EbpfCollector, EbpfConfig, collect
    cgroup, files = watched
    node = event_pb2.Node(cluster="eks", name="node-r")
    cfg = EbpfConfig(node=node, watch_cgroups=[str(cgroup)], file_prefixes=[str(files) + "/"])
    collector = EbpfCollector(cfg)
    uplink = Uplink(discovery.gateway, sensor_pb2.Hello(sensor_id="ebpf-r", node=node), block_when_full=False)
    stop = asyncio.Event()
    live = asyncio.create_task(runner.run_live(uplink, collect(cfg, collector=collector), collector.stats, stop))
    deadline = time.monotonic() + 30
    while not collector.stats().get("programs_loaded") and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    n = 300
    proc = opener(cgroup, files, n, 0.01)            # ~3 s of distinct opens
    await asyncio.sleep(1.0)
    port = discovery.grpc_port
    await discovery.stop()                          # the gateway goes away mid-stream
    await asyncio.sleep(1.0)
    again = build_app(DiscoveryConfig(data_dir=tmp_path / "w2", nats_url=nats_server.url, grpc_port=port))
    await again.start()
    try:
        await asyncio.to_thread(proc.wait, 30)
        def opens(evs):
            return [e for e in evs if e.kind == e.FILE_OPEN and e.file.path.startswith(str(files))]
        deadline = time.monotonic() + 30
        while len(opens(await stream_events(nats_server.url, 0, timeout=1))) < n and time.monotonic() < deadline:
            await asyncio.sleep(0.3)
        stop.set()
        summary = await asyncio.wait_for(live, 20)
        got = opens(await stream_events(nats_server.url, 0, timeout=1))
        paths = [e.file.path for e in got]
        assert sorted(paths) == sorted(f"{files}/f{i}" for i in range(n)), "an open was lost or stored twice"
        assert summary["reconnects"] >= 1 and summary["overflow_events"] == 0
    finally:
        await again.stop()


async def test_a_quiet_live_sensor_stops_at_once(discovery, watched):
    from weft.sensor.ebpf import EbpfCollector, EbpfConfig, collect
    cgroup, files = watched
    node = event_pb2.Node(cluster="eks", name="node-q")
    cfg = EbpfConfig(node=node, watch_cgroups=[str(cgroup)], file_prefixes=[str(files) + "/"])
    collector = EbpfCollector(cfg)
    uplink = Uplink(discovery.gateway, sensor_pb2.Hello(sensor_id="ebpf-q", node=node), block_when_full=False)
    stop = asyncio.Event()
    live = asyncio.create_task(runner.run_live(uplink, collect(cfg, collector=collector), collector.stats, stop))
    deadline = time.monotonic() + 30
    while not collector.stats().get("programs_loaded") and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    stop.set()
    t0 = time.monotonic()
    await asyncio.wait_for(live, 10)
    assert time.monotonic() - t0 < 6
