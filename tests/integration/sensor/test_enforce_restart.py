"""Enforcement survives the sensor: a sensor process applies a policy and is killed;
while none runs, the agent is still refused; a new sensor adopts the pinned programs
(and the decisions made meanwhile) instead of loading a second copy."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from weft.common import cgroupfs
from weft.v1 import event_pb2

pytestmark = pytest.mark.ebpf
ALLOWED_IP, DENIED_IP, EPERM = "127.0.0.2", "127.0.0.3", 1

SENSOR = r"""
import json, sys, time
from weft.sensor.enforcement import Enforcer
pin_root, policy, cgroup = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
result = Enforcer(pin_root=pin_root, resolvers=[]).apply(policy, [cgroup])
print("ready" if result.loaded else "reused", flush=True)
time.sleep(3600)
"""

CONNECT = r"""
import json, socket, sys
out = []
for ip in sys.argv[2:]:
    with socket.socket() as s:
        try:
            s.connect((ip, int(sys.argv[1]))); out.append("ok")
        except OSError as e:
            out.append(e.errno)
print(json.dumps(out))
"""


def skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "kernel enforcement needs root"
    if importlib.util.find_spec("bcc") is None:
        return "bcc is not importable (make setup)"
    if cgroupfs.v2_mount_in(Path("/proc/self/mountinfo").read_text()) is None:
        return "no cgroup v2 mount"
    return None


@pytest.fixture
def setup():
    if reason := skip_reason():
        pytest.skip(reason)
    from weft.sensor.enforcement import Enforcer

    agent = cgroupfs.v2_mount() / f"weft-enf-restart-{os.getpid()}"
    pin_root = Path(f"/sys/fs/bpf/weft-restart-{os.getpid()}")
    listener = socket.create_server(("0.0.0.0", 0), backlog=64)
    threading.Thread(target=_accept_all, args=(listener,), daemon=True).start()
    agent.mkdir()
    children: list[subprocess.Popen] = []
    try:
        yield agent, pin_root, listener.getsockname()[1], children
    finally:
        for child in children:
            child.kill()
            child.wait()
        cleaner = Enforcer(pin_root=pin_root)
        for name in cleaner.adopt():
            cleaner.remove(name)
        cleaner.close()
        shutil.rmtree(pin_root, ignore_errors=True)
        listener.close()
        _remove_cgroup(agent)


def _accept_all(listener: socket.socket) -> None:
    while True:
        try:
            listener.accept()[0].close()
        except OSError:
            return


def _remove_cgroup(cgroup: Path) -> None:
    for pid in (cgroup / "cgroup.procs").read_text().split():
        (cgroupfs.v2_mount() / "cgroup.procs").write_text(pid)
    cgroup.rmdir()


def policy(port: int) -> dict:
    ports = [{"first": port, "last": port, "protocol": "TCP"}]
    return {"apiVersion": "weft.dev/v1alpha1", "kind": "SensorPolicy", "metadata": {"name": "restart-test"},
            "spec": {"mode": "enforce", "agent": {"namespace": "agents"},
                     "egress": {"cidrs": [{"cidr": f"{ALLOWED_IP}/32", "ports": ports}], "fqdns": []},
                     "executables": [], "files": []}}


def connect(cgroup: Path, port: int, *ips: str) -> list:
    argv = ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(cgroup),
            sys.executable, "-c", CONNECT, str(port), *ips]
    return json.loads(subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout)


def start_sensor(pin_root: Path, port: int, agent: Path, children: list) -> str:
    child = subprocess.Popen([sys.executable, "-c", SENSOR, str(pin_root), json.dumps(policy(port)), str(agent)],
                             stdout=subprocess.PIPE, text=True)
    children.append(child)
    return child.stdout.readline().strip()


def test_a_killed_sensor_leaves_enforcement_in_place_and_its_successor_adopts_it(setup):
    from weft.sensor.enforcement import Enforcer
    from weft.sensor.enforcement.attachment import attached_ids

    agent, pin_root, port, children = setup
    assert start_sensor(pin_root, port, agent, children) == "ready"
    assert connect(agent, port, ALLOWED_IP, DENIED_IP) == ["ok", EPERM]
    children[0].send_signal(signal.SIGKILL)
    children[0].wait()

    assert connect(agent, port, ALLOWED_IP, DENIED_IP) == ["ok", EPERM]   # no sensor runs

    successor = Enforcer(pin_root=pin_root, resolvers=[])
    try:
        assert successor.adopt() == ["restart-test"]
        held = successor.decisions()   # before and while no sensor ran: kept in the pinned ring
        assert [(e.policy.destination.dst_ip, e.policy.verdict) for e in held] == \
            [(DENIED_IP, event_pb2.PolicyDecision.BLOCK)] * 2
        again = successor.apply(policy(port), [agent])
        assert not again.loaded and again.attached == []
        programs = successor.status()["restart-test"]["programs"]
    finally:
        successor.close()
    assert attached_ids(agent) == {hook: [prog_id] for hook, prog_id in programs.items()}

    # A sensor that starts and applies without adopting first reuses the pins too.
    assert start_sensor(pin_root, port, agent, children) == "reused"
    assert attached_ids(agent) == {hook: [prog_id] for hook, prog_id in programs.items()}
    assert connect(agent, port, ALLOWED_IP, DENIED_IP) == ["ok", EPERM]
