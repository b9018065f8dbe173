"""Real eBPF: one collector per session (compiling costs seconds), watching a
temporary cgroup v2 subtree:

    <cgroup2>/weft-test-<pid>/
        watched/                 watch_cgroups
            payments-api/        a workload in the metadata file
            excluded/            exclude_cgroups (inside the watched subtree)
        outside/                 not watched
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from weft.common import cgroupfs
from weft.v1 import event_pb2

K = event_pb2.RuntimeEvent
ROOTLESS = os.geteuid() != 0
NO_BCC = importlib.util.find_spec("bcc") is None


def cgroup2_root() -> Path | None:
    return cgroupfs.v2_mount_in(Path("/proc/self/mountinfo").read_text())


def skip_reason() -> str | None:
    if ROOTLESS:
        return "real eBPF needs root"
    if NO_BCC:
        return "bcc is not importable (make setup)"
    if cgroup2_root() is None:
        return "no cgroup v2 mount"
    return None


class Sensor:
    """The session's collector, with every event it produced so far."""

    def __init__(self, collector, cgroups: dict[str, Path], files: Path):
        self.collector, self.cgroups, self.files = collector, cgroups, files
        self.events: list[event_pb2.RuntimeEvent] = []

    def poll(self) -> None:
        self.events.extend(self.collector.poll())

    def of(self, pid: int, kind: int | None = None) -> list[event_pb2.RuntimeEvent]:
        return [e for e in self.events
                if e.process.pid == pid and (kind is None or e.kind == kind)]

    def wait_for(self, predicate, timeout: float = 10.0) -> list[event_pb2.RuntimeEvent]:
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            hits = [e for e in self.events if predicate(e)]
            if hits or time.monotonic() > deadline:
                assert hits, "no matching event within %.0fs" % timeout
                return hits
            time.sleep(0.02)

    def settle(self, seconds: float = 1.2) -> None:
        """Poll for a while: at least two drains of the kernel's counts."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.poll()
            time.sleep(0.02)

    def run(self, cgroup: str | Path, argv: list[str], **kw) -> subprocess.Popen:
        """Run argv to its end in a cgroup given by name (see the module doc) or path;
        its output, when piped, is in .out."""
        proc = self.spawn(cgroup, argv, **kw)
        proc.out, _ = proc.communicate(timeout=30)
        return proc

    def spawn(self, cgroup: str | Path, argv: list[str], **kw) -> subprocess.Popen:
        return subprocess.Popen(in_cgroup(self.cgroups.get(cgroup, cgroup), argv), **kw)


def in_cgroup(cgroup: Path, argv: list[str]) -> list[str]:
    """sh joins the cgroup, then execs argv: argv's exec is the first event there."""
    return ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(cgroup), *argv]


@pytest.fixture(scope="session")
def sensor():
    if reason := skip_reason():
        pytest.skip(reason)
    from weft.sensor.ebpf import EbpfCollector, EbpfConfig

    base = cgroup2_root() / f"weft-test-{os.getpid()}"
    cgroups = {name: base / name for name in
               ("watched", "watched/payments-api", "watched/excluded", "outside")}
    for path in cgroups.values():
        path.mkdir(parents=True, exist_ok=True)
    files = Path(tempfile.mkdtemp(prefix="weft-sensor-"))
    metadata = files.parent / f"{files.name}.json"
    metadata.write_text(json.dumps({"workloads": [{
        "cgroupPath": str(cgroups["watched/payments-api"]), "namespace": "payments",
        "pod": "api-0", "container": "api", "containerId": "containerd://abc123",
        "kind": "Deployment", "name": "api", "serviceAccount": "api",
        "image": "registry.example/payments/api:1.2", "labels": {"app": "api"}}]}))
    config = EbpfConfig(
        node=event_pb2.Node(cluster="test", provider=event_pb2.Node.AZURE,
                            region="westeurope", name="node-1", egress_ips=["203.0.113.7"]),
        watch_cgroups=[str(cgroups["watched"])], exclude_cgroups=[str(cgroups["watched/excluded"])],
        file_prefixes=[f"{files}/"], metadata_file=str(metadata))
    collector = EbpfCollector(config)
    collector.start()
    try:
        yield Sensor(collector, {k.split("/")[-1]: v for k, v in cgroups.items()}, files)
    finally:
        collector.close()
        remove_cgroups(base)
        shutil.rmtree(files, ignore_errors=True)
        metadata.unlink(missing_ok=True)


def remove_cgroups(base: Path) -> None:
    """Deepest first; a straggler process is moved out to the root first."""
    root = cgroup2_root()
    for dirpath, _dirs, _files in sorted(os.walk(base), key=lambda d: -d[0].count("/")):
        for pid in Path(dirpath, "cgroup.procs").read_text().split():
            try:
                (root / "cgroup.procs").write_text(pid)
            except OSError:
                pass
        os.rmdir(dirpath)
