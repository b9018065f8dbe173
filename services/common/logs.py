"""Logging: one line per record, service name first; secrets never formatted in. And
the last lines of a child process's log, for saying why it stopped."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path


def setup(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("nats", "aiohttp.access", "grpc"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def tail(path: Path, lines: int = 8) -> list[str]:
    """The last `lines` lines of a log (read from its last 16 KiB); none if unreadable."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 16384))
            return f.read().decode(errors="replace").splitlines()[-lines:]
    except OSError:
        return []
