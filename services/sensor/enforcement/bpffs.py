"""bpffs, where pins live: found under the pin root, or mounted at /sys/fs/bpf when a
host (or a container's /sys) has none there yet."""
from __future__ import annotations

import ctypes
import os
from pathlib import Path

from ..errors import SensorUnavailable

DEFAULT = Path("/sys/fs/bpf")


def fs_type_at(path: Path, mountinfo: str) -> str | None:
    """The file system type of the mount that holds `path`."""
    best, kind = "", None
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        point = left.split()[4]
        inside = str(path) == point or str(path).startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, right.split()[0]
    return kind


def ensure(pin_root: Path) -> None:
    """pin_root exists on bpffs afterwards, or SensorUnavailable says why not."""
    mountinfo = Path("/proc/self/mountinfo").read_text()
    if fs_type_at(pin_root, mountinfo) != "bpf":
        if not pin_root.is_relative_to(DEFAULT) or fs_type_at(DEFAULT, mountinfo) == "bpf":
            raise SensorUnavailable([f"{pin_root} is not on a bpf file system "
                                     f"(mount -t bpf bpf {DEFAULT})"])
        _mount_bpffs(DEFAULT)
    pin_root.mkdir(parents=True, exist_ok=True)


def _mount_bpffs(target: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(b"bpf", str(target).encode(), b"bpf", 0, None) != 0:
        err = ctypes.get_errno()
        raise SensorUnavailable([f"cannot mount bpffs at {target}: {os.strerror(err)}"])
