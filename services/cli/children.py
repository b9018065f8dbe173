"""Process I/O for the supervisor: pick ports, spawn a part, wait until it is ready,
stop a wave, and look at pids the CLI did not start itself (`weft down`)."""
from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Callable

from weft.cli.supervisor import STAGES, Part, Ports, exit_reason
from weft.common.natsserver import free_port

SENSOR_GRACE_S = 3.0      # a sensor that cannot run exits at once; one alive this long is running
POLL_S = 0.1


class PartFailed(Exception):
    def __init__(self, part: Part, reason: str):
        super().__init__(f"{part.name} {reason}")
        self.part, self.reason = part, reason


def spawn(part: Part, log_file: Path, env: dict[str, str]) -> subprocess.Popen:
    """Each part in its own session, so a terminal's Ctrl-C reaches only the supervisor."""
    with open(log_file, "ab") as out:
        return subprocess.Popen(part.argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)


def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


def wait_ready(part: Part, proc: subprocess.Popen, deadline: float, stopping: Callable[[], bool]) -> float:
    """Block until `part` is ready; returns seconds waited. Raises PartFailed."""
    started = time.monotonic()
    grace_end = started + SENSOR_GRACE_S
    while not stopping():
        if proc.poll() is not None:
            raise PartFailed(part, exit_reason(proc.returncode))
        if part.ready_url and http_ok(part.ready_url):
            return time.monotonic() - started
        if not part.ready_url and time.monotonic() >= grace_end:
            return time.monotonic() - started
        if time.monotonic() >= deadline:
            raise PartFailed(part, "was not ready before the deadline")
        time.sleep(POLL_S)
    raise PartFailed(part, "start interrupted")


def stop_procs(procs: list[subprocess.Popen], timeout: float) -> list[subprocess.Popen]:
    """SIGTERM every process of a wave together, then SIGKILL what outlives `timeout`;
    returns the ones that had to be killed."""
    for p in procs:
        signal_group(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    killed = []
    for p in procs:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            signal_group(p.pid, signal.SIGKILL)
            p.wait()
            killed.append(p)
    return killed


def signal_group(pid: int, sig: int) -> None:
    """Signal the part's whole process group when it leads one (it does: own session)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def read_cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [a.decode(errors="replace") for a in raw.split(b"\0")[:-1]] or None




def pick_ports() -> Ports:
    """Distinct free loopback ports, picked here so the run file can name them all."""
    names = ("nats", "monitor", "grpc", "discovery", *STAGES)
    ports: list[int] = []
    while len(ports) < len(names):
        if (p := free_port()) not in ports:
            ports.append(p)
    by = dict(zip(names, ports))
    return Ports(nats=by["nats"], nats_monitor=by["monitor"], grpc=by["grpc"],
                 http={n: by[n] for n in ("discovery", *STAGES)})
