"""The processes a pipeline benchmark needs: nats-server, discovery, detect.

Each runs in its own process (a 2-core machine is the point) and in its own
session, so Ctrl-C reaches only the bench, whose `finally` stops them all.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from weft.common import natsserver


@contextmanager
def running(work: Path) -> Iterator[dict]:
    """Yields {"nats": url, "gateway": host:port, "pids": {name: pid}}; stops everything after."""
    procs: dict[str, subprocess.Popen] = {}
    try:
        procs["nats-server"], url = natsserver.start(work / "nats", log_file=work / "nats.log")
        grpc_port = natsserver.free_port()
        procs["discovery"] = _stage(work, "discovery", url, "--grpc-port", str(grpc_port))
        procs["detect"] = _stage(work, "detect", url)
        yield {"nats": url, "gateway": f"127.0.0.1:{grpc_port}",
               "pids": {name: p.pid for name, p in procs.items()}}
    finally:
        for name in reversed(list(procs)):  # stages first, then the server they drain to
            natsserver.stop(procs[name], timeout=10)


def _stage(work: Path, name: str, nats_url: str, *extra: str) -> subprocess.Popen:
    http_port = natsserver.free_port()
    env = {**os.environ, "WEFT_NATS_URL": nats_url, "WEFT_LOG_LEVEL": "WARNING"}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)  # traces go to a file under the data dir, as by default
    log = open(work / f"{name}.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", f"weft.{name}", "--data-dir", str(work / name),
                             "--http-port", str(http_port), *extra],
                            env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        _wait_ready(proc, http_port, work / f"{name}.log")
    except BaseException:
        natsserver.stop(proc)
        raise
    return proc


def _wait_ready(proc: subprocess.Popen, port: int, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[2]} exited ({proc.returncode}):\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{proc.args[2]} not ready within {timeout:.0f}s:\n{log.read_text()[-2000:]}")
