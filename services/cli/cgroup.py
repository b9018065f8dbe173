"""weft's own cgroup v2, so the local sensor can leave weft's processes out of what it
watches. The supervisor joins it before starting anything; every child inherits it."""
from __future__ import annotations

import os
from pathlib import Path

from weft.common import cgroupfs

NAME = "weft"


def v2_path(proc_cgroup: str) -> str:
    """This process's cgroup v2 path from /proc/self/cgroup text (the `0::` line)."""
    for line in proc_cgroup.splitlines():
        if line.startswith("0::"):
            return line[3:] or "/"
    return "/"


def join_own() -> tuple[Path, Path] | None:
    """Move this process into <cgroup2 mount>/weft; returns (own, previous) cgroup dirs,
    or None where that is not possible (no cgroup2, not allowed)."""
    try:
        mount = cgroupfs.v2_mount_in(Path("/proc/self/mountinfo").read_text())
        if mount is None:
            return None
        previous = mount / v2_path(Path("/proc/self/cgroup").read_text()).lstrip("/")
        own = mount / NAME
        own.mkdir(exist_ok=True)
        if own != previous:
            (own / "cgroup.procs").write_text(str(os.getpid()))
        return own, previous
    except OSError:
        return None


def leave(own: Path, previous: Path) -> None:
    """Back to where this process was; remove weft's cgroup once nothing is left in it."""
    try:
        if own != previous:
            (previous / "cgroup.procs").write_text(str(os.getpid()))
        own.rmdir()
    except OSError:
        pass  # another weft still runs in it, or it was never ours to remove
