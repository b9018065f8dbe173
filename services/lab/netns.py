"""Network namespaces and the links between them, via iproute2.

Every link is created inside lab namespaces (never in the host's), so the host sees no
lab interface or route even if `up` stops half-way. The core namespace routes between
the clusters; each cluster routes only the lab's ranges to it, so nothing leaves the lab."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from weft.lab.topology import DNS_ADDRESS, LAB_SUPERNET, OUTSIDE_ADDRESS, OUTSIDE_RANGE, Cluster

NETNS_DIR = Path("/run/netns")      # where `ip netns add` pins namespaces
NETNS_ETC = Path("/etc/netns")      # files `ip netns exec` bind-mounts over /etc


class NetnsError(RuntimeError):
    pass


def ip(*args: str) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode:
        raise NetnsError(f"ip {' '.join(args)}: {done.stderr.strip() or 'exit ' + str(done.returncode)}")
    return done.stdout


def exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def create(name: str) -> None:
    if exists(name):
        raise NetnsError(f"network namespace {name} already exists: is a lab up? (weft lab status)")
    ip("netns", "add", name)
    ip("-n", name, "link", "set", "lo", "up")


def delete(name: str) -> None:
    """Kill what still runs in the namespace, then remove it (its links go with it)."""
    if not exists(name):
        return
    for pid in pids(name):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    ip("netns", "delete", name)


def pids(name: str) -> list[int]:
    try:
        return [int(p) for p in ip("netns", "pids", name).split()]
    except NetnsError:
        return []


def setup_core(core: str) -> None:
    for address in (DNS_ADDRESS, OUTSIDE_ADDRESS):
        ip("-n", core, "address", "add", f"{address}/32", "dev", "lo")
    ip("netns", "exec", core, "sysctl", "-qw", "net.ipv4.ip_forward=1")


def link_cluster(core: str, c: Cluster) -> None:
    """A veth between core and the cluster, its /24, and the cluster's one route."""
    prefix = c.subnet.split("/")[1]
    ip("-n", core, "link", "add", c.core_veth, "type", "veth", "peer", "name", "eth0", "netns", c.netns)
    ip("-n", core, "address", "add", f"{c.gateway}/{prefix}", "dev", c.core_veth)
    ip("-n", c.netns, "address", "add", f"{c.address}/{prefix}", "dev", "eth0")
    ip("-n", core, "link", "set", c.core_veth, "up")
    ip("-n", c.netns, "link", "set", "eth0", "up")
    for prefix in (LAB_SUPERNET, OUTSIDE_RANGE):
        ip("-n", c.netns, "route", "add", prefix, "via", c.gateway)


def write_etc(name: str, filename: str, text: str) -> list[str]:
    """Write /etc/netns/<name>/<filename>; returns the paths it created, deepest last."""
    made = [p for p in (NETNS_ETC, NETNS_ETC / name) if not p.exists()]
    (NETNS_ETC / name).mkdir(parents=True, exist_ok=True)
    target = NETNS_ETC / name / filename
    target.write_text(text)
    return [str(p) for p in made] + [str(target)]


def exec_argv(name: str, argv: list[str]) -> list[str]:
    """argv run inside the namespace (with its /etc/netns files bind-mounted)."""
    return ["ip", "netns", "exec", name, *argv]
