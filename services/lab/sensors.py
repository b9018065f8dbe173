"""One eBPF sensor per lab cluster, each with that cluster's identity, dialling the
running weft's gateway. Sensors run in the host's network namespace (they reach weft on
loopback) and watch only their cluster's cgroup subtree."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from weft.lab import cgroups, metadata, processes, topology
from weft.lab.topology import Cluster

STARTUP_GRACE = 2.0     # a sensor that exits within this is reported as failed to start
WEFT_UP_TIMEOUT = 120.0
# Lab workloads learn their syscalls (for seccomp) this long after they start.
SYSCALL_LEARNING = os.environ.get("WEFT_LAB_SYSCALL_LEARNING", "30m")


@dataclass(frozen=True)
class Gateway:
    """Where the lab's sensors dial, and how: with `ca`, mutual TLS, each sensor
    presenting its own certificate from `certs_dir` (weft.cli.certstore)."""
    address: str
    ca: str = ""
    certs_dir: str = ""


def argv(c: Cluster, gateway: Gateway, lab_dir: Path) -> list[str]:
    return [sys.executable, "-m", "weft.cli.main", "sensor", "--source", "ebpf",
            "--gateway", gateway.address, "--cluster", c.name, "--provider", c.provider,
            "--region", c.region, "--node", c.node, "--egress-ip", c.egress_ip,
            "--watch-cgroup", str(cgroups.path(c.cgroup)), "--syscall-learning", SYSCALL_LEARNING,
            "--metadata-file", str(metadata.file_for(lab_dir, c.name)), *tls_flags(c, gateway)]


def tls_flags(c: Cluster, gateway: Gateway) -> list[str]:
    if not gateway.ca:
        return []
    from weft.cli import certstore
    pair = certstore.CertDir(Path(gateway.certs_dir)).sensor(c.name, c.node)
    return ["--tls-cert", str(pair.cert), "--tls-key", str(pair.key), "--tls-ca", gateway.ca]


def marker(c: Cluster, lab_dir: Path) -> str:
    """What identifies this sensor's command line (see processes.alive)."""
    return f"--metadata-file {metadata.file_for(lab_dir, c.name)}"


def find_gateway(data_dir: Path, start_weft: bool) -> tuple[Gateway | None, bool, str]:
    """(gateway, whether we started weft, why there is none)."""
    from weft.cli import endpoint
    from weft.cli.main import CliError
    started = False
    try:
        ep = endpoint.load(data_dir)
    except CliError as e:
        if not start_weft:
            return None, False, str(e)
        try:   # the lab's sensors replace weft's local one
            done = subprocess.run([sys.executable, "-m", "weft.cli.main", "up", "--detach", "--no-sensor"],
                                  env={**os.environ, "WEFT_DATA_DIR": str(data_dir)},
                                  capture_output=True, text=True, timeout=WEFT_UP_TIMEOUT)
        except subprocess.TimeoutExpired:
            return None, False, f"`weft up --detach --no-sensor` did not finish in {WEFT_UP_TIMEOUT:.0f}s"
        if done.returncode:
            return None, False, f"`weft up --detach --no-sensor` failed: {(done.stderr or done.stdout).strip()[-300:]}"
        started = True
        ep = endpoint.load(data_dir)
    if not ep.gateway:
        return None, started, "the running weft reports no sensor gateway"
    if ep.gateway_ca:
        issue_certificates(Path(ep.certs_dir))
    return Gateway(ep.gateway, ep.gateway_ca, ep.certs_dir), started, ""


def issue_certificates(certs_dir: Path) -> None:
    """Each lab sensor's certificate (`weft up` makes them; a weft whose certificates
    were made by hand may lack some)."""
    from weft.cli import certstore
    for c in topology.CLUSTERS:
        certstore.ensure_sensor(certs_dir, c.name, c.node)


def key(c: Cluster) -> str:
    """The sensor's key in the lab state's pids."""
    return f"sensor-{c.name}"


def start_all(lab_dir: Path, gateway: Gateway, record, clusters: list[Cluster] | None = None) -> dict[str, str]:
    """Start each cluster's sensor (default: every cluster); record(key, pid, marker) as
    each starts. Returns cluster -> "running" or why it is not."""
    started: dict[str, tuple[subprocess.Popen, Path]] = {}
    for c in clusters or topology.CLUSTERS:
        log = lab_dir / f"sensor-{c.name}.log"
        proc = processes.spawn(argv(c, gateway, lab_dir), f"{topology.SYSTEM_CGROUP}/sensor-{c.name}", log)
        record(key(c), proc.pid, marker(c, lab_dir))
        started[c.name] = (proc, log)
    deadline = time.monotonic() + STARTUP_GRACE
    while time.monotonic() < deadline and any(p.poll() is None for p, _ in started.values()):
        time.sleep(0.05)
    return {name: "running" if proc.poll() is None
            else f"failed to start (exit {proc.returncode}): {processes.log_tail(log)}"
            for name, (proc, log) in started.items()}
