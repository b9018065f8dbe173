"""Syscall sets for seccomp, learnt in the kernel per workload cgroup while its profile
learns, and nothing attached once no workload learns."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from conftest import cgroup2_root, in_cgroup, remove_cgroups, skip_reason
from weft.v1 import event_pb2

K = event_pb2.RuntimeEvent
pytestmark = pytest.mark.ebpf
PROGRAM = "import os, time; os.sync(); os.getppid(); time.sleep(0.2)"


@pytest.fixture
def cgroups(tmp_path):
    if reason := skip_reason():
        pytest.skip(reason)
    base = cgroup2_root() / f"weft-test-sys-{os.getpid()}"
    paths = {n: base / n for n in ("watched", "watched/agent", "outside")}
    for p in paths.values():
        p.mkdir(parents=True, exist_ok=True)
    metadata = tmp_path / "metadata.json"
    metadata.write_text(json.dumps({"workloads": [{
        "cgroupPath": str(paths["watched/agent"]), "namespace": "agents", "name": "bot", "serviceAccount": "bot"}]}))
    yield paths, metadata
    remove_cgroups(base)


def collector(paths, metadata, learning_s: float):
    from weft.sensor.ebpf import EbpfCollector, EbpfConfig
    c = EbpfCollector(EbpfConfig(node=event_pb2.Node(cluster="test", name="n1"), watch_cgroups=[str(paths["watched"])],
                                 metadata_file=str(metadata), syscall_learning_s=learning_s, sight=False))
    c.start()
    return c


def poll_until(c, predicate, timeout=10.0):
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen += c.poll()
        if predicate(seen):
            break
        time.sleep(0.1)
    return seen


def test_a_learning_workload_reports_its_syscalls_and_an_outsider_nothing(cgroups):
    paths, metadata = cgroups
    c = collector(paths, metadata, learning_s=60)
    try:
        poll_until(c, lambda s: False, timeout=2.5)   # the workload's cgroup is found and learns
        for cg in ("watched/agent", "outside"):
            subprocess.run(in_cgroup(paths[cg], [sys.executable, "-c", PROGRAM]), check=True)
        seen = poll_until(c, lambda s: any(e.kind == K.SYSCALLS for e in s), timeout=6)
        sets = [e for e in seen if e.kind == K.SYSCALLS]
        assert sets and all(e.workload.name == "bot" for e in sets)
        names = set(sets[-1].syscalls.names)
        assert {"sync", "getppid", "execve", "openat"} <= names
    finally:
        c.close()


def test_nothing_is_attached_once_no_workload_learns(cgroups):
    paths, metadata = cgroups
    c = collector(paths, metadata, learning_s=0.5)
    try:
        probe = next(p for p in c._probes if p.name == "syscalls")
        poll_until(c, lambda s: probe._link >= 0, timeout=3)
        assert probe._link >= 0, "attached while the workload learns"
        poll_until(c, lambda s: probe._link < 0, timeout=5)
        assert probe._link < 0, "detached once its window has passed"
        subprocess.run(in_cgroup(paths["watched/agent"], [sys.executable, "-c", PROGRAM]), check=True)
        before = [e for e in poll_until(c, lambda s: False, timeout=2.5) if e.kind == K.SYSCALLS]
        assert not any("sync" in e.syscalls.names for e in before)
    finally:
        c.close()
