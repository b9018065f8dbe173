"""The lab's cgroup v2 subtree: create, move a process in, kill everything in it, remove it.

Paths are relative to the cgroup2 mount (e.g. "weft-lab/aks/payments/api"); no
controllers are enabled, so processes may live in inner nodes too."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from weft.common import cgroupfs


def path(relative: str) -> Path:
    return cgroupfs.v2_mount() / relative


def create(relative: str) -> Path:
    p = path(relative)
    p.mkdir(parents=True, exist_ok=True)
    return p


def pids(relative: str) -> list[int]:
    """Every process in the subtree."""
    found: list[int] = []
    for procs in sorted(path(relative).rglob("cgroup.procs")):
        try:
            found += [int(p) for p in procs.read_text().split()]
        except FileNotFoundError:
            continue   # removed while we walked
    return found


def populated(relative: str) -> bool:
    try:
        events = (path(relative) / "cgroup.events").read_text()
    except FileNotFoundError:
        return False
    return "populated 1" in events


def kill_all(relative: str, timeout: float = 10.0) -> None:
    """SIGKILL every process in the subtree and wait until it is empty."""
    root = path(relative)
    if not root.exists():
        return
    deadline = time.monotonic() + timeout
    while populated(relative):
        if (root / "cgroup.kill").exists():
            (root / "cgroup.kill").write_text("1\n")
        else:   # kernels before 5.14: signal, then look again for children forked meanwhile
            for pid in pids(relative):
                _signal(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes in {root} survived SIGKILL for {timeout:.0f}s: {pids(relative)}")
        time.sleep(0.02)


def remove_tree(relative: str) -> None:
    """rmdir the subtree bottom-up; its processes must be gone (see kill_all)."""
    root = path(relative)
    if not root.exists():
        return
    for dirpath, _dirs, _files in sorted(os.walk(root), key=lambda w: -len(Path(w[0]).parts)):
        Path(dirpath).rmdir()


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
