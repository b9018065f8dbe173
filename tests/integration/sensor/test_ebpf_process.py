"""Process exec and exit, attribution, node identity, and the cgroup filter."""

from __future__ import annotations

import os
import re
import time

import pytest

from weft.v1 import event_pb2

K = event_pb2.RuntimeEvent
pytestmark = pytest.mark.ebpf


def test_exec_carries_argv_parent_uid_cgroup_and_workload(sensor):
    argv = ["/bin/sh", "-c", "exit 7", "weft-arg0", "two words", ""]
    proc = sensor.run("payments-api", argv)
    assert proc.returncode == 7

    (ev,) = sensor.wait_for(lambda e: e.process.pid == proc.pid and e.kind == K.PROCESS_EXEC)
    p = ev.process
    assert (p.exe, list(p.args)) == ("/bin/sh", argv)
    assert p.ppid == os.getpid()
    assert p.uid == 0
    assert p.comm == "sh"
    assert p.cgroup_id == os.stat(sensor.cgroups["payments-api"]).st_ino
    w = ev.workload
    assert (w.namespace, w.pod, w.container, w.kind, w.name, w.service_account) == (
        "payments", "api-0", "api", "Deployment", "api", "api")
    assert w.container_id == "containerd://abc123" and dict(w.labels) == {"app": "api"}
    assert (ev.node.cluster, ev.node.provider, ev.node.name) == ("test", ev.node.AZURE, "node-1")
    assert re.fullmatch(r"[0-9a-f]{32}", ev.event_id)
    assert ev.count == 1 and ev.last_seen == ev.time
    assert abs(ev.time.ToNanoseconds() - time.time_ns()) < 30e9


def test_exit_codes_including_signals(sensor):
    done = sensor.run("payments-api", ["/bin/sh", "-c", "exit 3"])
    killed = sensor.run("payments-api", ["/bin/sh", "-c", "kill -9 $$"])
    assert (done.returncode, killed.returncode) == (3, -9)
    for proc, code in ((done, 3), (killed, -9)):
        (ev,) = sensor.wait_for(lambda e: e.process.pid == proc.pid and e.kind == K.PROCESS_EXIT)
        assert ev.exit.code == code
        assert ev.process.exe == "/bin/sh"  # known from its exec
        assert ev.workload.name == "api"


def test_child_cgroup_created_after_start_is_watched_and_attributed(sensor):
    late = sensor.cgroups["payments-api"] / "late-child"
    late.mkdir()
    try:
        proc = sensor.run(late, ["/bin/true", "late"])
        (ev,) = sensor.wait_for(lambda e: e.process.pid == proc.pid and e.kind == K.PROCESS_EXEC)
        assert ev.process.cgroup_id == os.stat(late).st_ino
        assert ev.workload.pod == "api-0"  # the longest cgroupPath prefix
    finally:
        late.rmdir()


def test_processes_outside_the_watched_subtree_are_silent(sensor):
    outside = sensor.run("outside", ["/bin/sh", "-c", "exit 0"])
    excluded = sensor.run("excluded", ["/bin/sh", "-c", "exit 0"])
    marker = sensor.run("payments-api", ["/bin/true", "marker"])
    sensor.wait_for(lambda e: e.process.pid == marker.pid and e.kind == K.PROCESS_EXIT)
    assert sensor.of(outside.pid) == []
    assert sensor.of(excluded.pid) == []
    assert sensor.of(os.getpid()) == []  # the test runner itself is outside too
