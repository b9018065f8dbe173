"""Helpers for lab tests: run `weft`, wait, read exported events."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

from weft.lab import netns, topology

LAB_NETNS = [topology.CORE_NETNS] + [c.netns for c in topology.CLUSTERS]


def why_not() -> str:
    """Why the lab cannot run here, or ""."""
    if os.geteuid() != 0:
        return "the lab and the eBPF sensor need root"
    if not shutil.which("ip"):
        return "iproute2's `ip` is not installed"
    if any(netns.exists(n) for n in LAB_NETNS):
        return "another lab is up on this machine (`weft lab status`)"
    try:
        import bcc  # noqa: F401
    except ImportError:
        return "bcc is not importable (make setup)"
    return ""


def weft(env, *args, timeout=120, check=True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "weft.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)
    if check and done.returncode:
        raise AssertionError(f"weft {' '.join(args)} -> {done.returncode}: {done.stdout}{done.stderr}")
    return done


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.3)
    return value


def exported(env, since: str = "10m") -> list[dict]:
    out = weft(env, "events", "export", "--since", since).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def lab_exec(env, cluster: str, workload: str, *argv: str, **popen) -> subprocess.Popen:
    """`weft lab exec CLUSTER --workload NS/NAME -- argv` in the background."""
    return subprocess.Popen([sys.executable, "-m", "weft.cli.main", "lab", "exec", cluster,
                             "--workload", workload, "--", *argv], env=env, **popen)
