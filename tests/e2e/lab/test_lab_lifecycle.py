"""`weft lab up --no-weft` / `exec` / `down` on the real kernel: namespaces, cgroups, routes,
the lab DNS over real UDP, TCP between clusters, and a clean `down`. Needs root."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from weft.lab import netns, topology

LAB_NETNS = [topology.CORE_NETNS] + [c.netns for c in topology.CLUSTERS]


def _why_not() -> str:
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, cgroups)"
    if not shutil.which("ip"):
        return "iproute2's `ip` is not installed"
    if "cgroup2" not in Path("/proc/self/mountinfo").read_text():
        return "no cgroup2 file system is mounted"
    if any(netns.exists(n) for n in LAB_NETNS):
        return "another lab is up on this machine (`weft lab status`)"
    return ""


pytestmark = [pytest.mark.skipif(bool(_why_not()), reason=_why_not() or "-"), pytest.mark.timeout(60)]


def weft(data_dir: Path, *args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "weft.cli.main", "lab", *args], capture_output=True, text=True,
                          env={**os.environ, "WEFT_DATA_DIR": str(data_dir)}, timeout=timeout)
    if check and done.returncode:
        raise AssertionError(f"weft lab {' '.join(args)} -> {done.returncode}: {done.stderr}")
    return done


def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)
    return value


@pytest.fixture
def lab(tmp_path):
    etc_existed = Path("/etc/netns").exists()
    weft(tmp_path, "up", "--no-weft")
    yield tmp_path
    weft(tmp_path, "down")
    assert Path("/etc/netns").exists() == etc_existed


def lab_state(data_dir: Path) -> dict:
    return json.loads((data_dir / "lab" / "state.json").read_text())


def assert_nothing_left(data_dir: Path, pids: list[int]) -> None:
    assert not Path("/sys/fs/cgroup/unified/weft-lab").exists()
    assert not set(LAB_NETNS) & set(subprocess.run(["ip", "netns", "list"], capture_output=True,
                                                   text=True).stdout.split())
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    assert not any(c.core_veth in links for c in topology.CLUSTERS)
    assert "10.77." not in subprocess.run(["ip", "route", "show", "table", "all"], capture_output=True,
                                          text=True).stdout
    for n in LAB_NETNS:
        assert not Path("/etc/netns", n).exists()
    for pid in pids:   # gone, or a zombie whose parent has not reaped it yet
        assert not Path(f"/proc/{pid}/cmdline").exists() or not Path(f"/proc/{pid}/cmdline").read_bytes()
    assert not (data_dir / "lab" / "state.json").exists()


def test_exec_runs_in_the_workload_cgroup_and_the_cluster_namespace(lab):
    code = ("import os; print(open('/proc/self/cgroup').read().strip().splitlines()[-1]);"
            "print(os.stat('/proc/self/ns/net').st_ino)")
    done = weft(lab, "exec", "aks", "--workload", "payments/api", "--", sys.executable, "-c", code)
    cgroup_line, netns_inode = done.stdout.split()
    assert cgroup_line == "0::/weft-lab/aks/payments/api"
    assert int(netns_inode) == os.stat("/run/netns/weft-lab-aks").st_ino
    entries = json.loads((lab / "lab" / "aks-workloads.json").read_text())["workloads"]
    assert [e["cgroupPath"] for e in entries] == ["/sys/fs/cgroup/unified/weft-lab/aks/payments/api"]
    assert weft(lab, "exec", "eks", "--", "sh", "-c", "exit 7", check=False).returncode == 7
    again = weft(lab, "up", "--no-weft", check=False)
    assert again.returncode == 1 and "already up" in again.stderr


SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080)); s.listen(); print("ready", flush=True)
conn, peer = s.accept(); conn.sendall(b"hello " + peer[0].encode() + b"\\n"); conn.close()
"""
CLIENT = """
import socket
addr = socket.getaddrinfo("storage.tools.svc.gke.lab", 8080, socket.AF_INET, socket.SOCK_STREAM)[0][4]
print(addr[0]); print(socket.create_connection(addr, timeout=5).recv(100).decode().strip())
try:
    socket.getaddrinfo("nothing.tools.svc.gke.lab", 80); print("resolved?!")
except socket.gaierror:
    print("nxdomain")
"""


def test_a_gke_service_resolves_by_dns_and_accepts_tcp_from_eks(lab):
    server = subprocess.Popen([sys.executable, "-m", "weft.cli.main", "lab", "exec", "gke", "--workload",
                               "tools/storage", "--", sys.executable, "-c", SERVER],
                              env={**os.environ, "WEFT_DATA_DIR": str(lab)}, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "ready"
        done = weft(lab, "exec", "eks", "--workload", "agents/agent", "--", sys.executable, "-c", CLIENT)
        gke, eks = topology.cluster("gke"), topology.cluster("eks")
        assert done.stdout.split("\n")[:3] == [gke.address, f"hello {eks.egress_ip}", "nxdomain"]
        assert server.wait(timeout=10) == 0
    finally:
        server.kill()


def test_down_leaves_nothing_behind_and_can_run_twice(tmp_path):
    weft(tmp_path, "up", "--no-weft")
    sleeper = subprocess.Popen([sys.executable, "-m", "weft.cli.main", "lab", "exec", "gke", "--workload",
                                "tools/sleeper", "--", "sleep", "300"], env={**os.environ, "WEFT_DATA_DIR": str(tmp_path)})
    procs = Path("/sys/fs/cgroup/unified/weft-lab/gke/tools/sleeper/cgroup.procs")
    sleep_pid = wait_for(lambda: procs.exists() and procs.read_text().split(), what="the sleeper")[0]
    dns_pid = lab_state(tmp_path)["pids"]["dns"]
    weft(tmp_path, "down")
    assert sleeper.wait(timeout=10) == 128 + signal.SIGKILL
    assert_nothing_left(tmp_path, [int(sleep_pid), dns_pid])
    assert "nothing to remove" in weft(tmp_path, "down").stdout


def test_down_cleans_up_after_the_dns_server_died(tmp_path):
    weft(tmp_path, "up", "--no-weft")
    dns_pid = lab_state(tmp_path)["pids"]["dns"]
    os.kill(dns_pid, signal.SIGKILL)
    assert "NOT RUNNING" in weft(tmp_path, "status").stdout
    weft(tmp_path, "down")
    assert_nothing_left(tmp_path, [dns_pid])


def test_a_failed_up_removes_what_it_made_and_nothing_else(tmp_path):
    foreign = Path("/sys/fs/cgroup/unified/weft-lab")
    foreign.mkdir()   # not the lab's: up must stop there and leave it
    try:
        done = weft(tmp_path, "up", "--no-weft", check=False)
        assert done.returncode == 1 and "not this lab's" in done.stderr and "removed what it made" in done.stderr
        assert foreign.is_dir()
        assert not set(LAB_NETNS) & set(subprocess.run(["ip", "netns", "list"], capture_output=True,
                                                       text=True).stdout.split())
        assert not (tmp_path / "lab" / "state.json").exists()
    finally:
        foreign.rmdir()
