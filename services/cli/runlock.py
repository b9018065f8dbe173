"""One weft per data directory. The supervisor holds a lock on `<data_dir>/run/weft-up.lock`
for its whole life (from before the first child starts, so `weft down` can stop a weft
that is still starting), and refuses to start over processes an earlier weft left behind."""
from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from weft.cli import endpoint
from weft.cli.children import read_cmdline
from weft.cli.supervisor import still_running


def lock_path(data_dir: Path) -> Path:
    return data_dir / "run" / "weft-up.lock"


class DataDirLock:
    """flock, not a pid file: the kernel drops it when the supervisor dies, however it dies.
    The file itself stays (unlinking a lock file races with the next weft opening it)."""
    def __init__(self, data_dir: Path):
        self.path = lock_path(data_dir)
        self.fd: int | None = None

    def acquire(self) -> bool:
        """True if this process now supervises the data dir; False if another one does."""
        self.fd = _try_lock(self.path)
        if self.fd is None:
            return False
        record = json.dumps({"pid": os.getpid(), "cmdline": read_cmdline(os.getpid())}).encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, record, 0)
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.close(self.fd)
            self.fd = None


def _try_lock(path: Path) -> int | None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        os.close(fd)
        return None


def holder(data_dir: Path) -> dict | None:
    """The supervisor ({"pid", "cmdline"}) holding the data dir's lock, or None."""
    path = lock_path(data_dir)
    if not path.exists():
        return None
    fd = _try_lock(path)
    if fd is not None:
        os.close(fd)
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}  # held, but caught mid-write


def leftovers(data_dir: Path) -> dict[str, int]:
    """Parts recorded in the data dir's run file that still run what was recorded."""
    try:
        raw = json.loads(endpoint.run_file(data_dir).read_text())
    except (OSError, ValueError):
        return {}
    running = still_running(raw.get("pids", {}), raw.get("cmdlines", {}), read_cmdline)
    return {name: pid for name, pid in running.items() if pid != os.getpid()}
