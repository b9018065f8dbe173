"""Where cgroup v2 lives on this host: /sys/fs/cgroup on pure v2 hosts,
/sys/fs/cgroup/unified on hybrid ones (like these machines)."""
from __future__ import annotations

from pathlib import Path


def v2_mount_in(mountinfo: str) -> Path | None:
    """The cgroup2 mount point from /proc/self/mountinfo text."""
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        if sep and right.split()[:1] == ["cgroup2"]:
            return Path(left.split()[4])
    return None


def v2_mount() -> Path:
    mount = v2_mount_in(Path("/proc/self/mountinfo").read_text())
    if mount is None:
        raise RuntimeError("no cgroup2 file system is mounted (see /proc/self/mountinfo)")
    return mount
