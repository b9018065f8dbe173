"""The lab's own long-running processes (DNS server, sensors): start one detached inside a
cgroup, tell whether a recorded pid is still that process, stop them."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from weft.lab import cgroups


def spawn(argv: list[str], cgroup: str, log: Path, env: dict | None = None) -> subprocess.Popen:
    """Start argv in its own session, inside the cgroup from its first instruction on."""
    procs_file = cgroups.create(cgroup) / "cgroup.procs"

    def enter_cgroup() -> None:
        procs_file.write_text(f"{os.getpid()}\n")

    with open(log, "ab") as out:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True, preexec_fn=enter_cgroup, env=env)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""   # gone; a zombie's cmdline is empty too


def alive(pid: int, marker: str) -> bool:
    """True if pid runs and is still ours: its command line holds the marker we recorded."""
    return bool(pid) and marker in cmdline(pid)


def stop(targets: dict[int, str], timeout: float = 5.0) -> None:
    """SIGTERM each live (pid, marker); SIGKILL what is still there at the deadline."""
    live = [pid for pid, marker in targets.items() if alive(pid, marker)]
    for pid in live:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while live and time.monotonic() < deadline:
        live = [pid for pid in live if alive(pid, targets[pid])]
        time.sleep(0.05)
    for pid in live:
        _signal(pid, signal.SIGKILL)


def udp_bound(pid: int, address: str, port: int) -> bool:
    """Whether address:port is bound for UDP in pid's network namespace."""
    try:
        lines = Path(f"/proc/{pid}/net/udp").read_text().splitlines()[1:]
    except (FileNotFoundError, ProcessLookupError):
        return False
    # the kernel prints the address as a native-endian integer of its network-order bytes
    local = f"{int.from_bytes(socket.inet_aton(address), sys.byteorder):08X}:{port:04X}"
    return any(line.split()[1] == local for line in lines)


def tcp_listening(pid: int, port: int) -> bool:
    """Whether a TCP socket listens on port (any address) in pid's network namespace."""
    listening = []
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except (FileNotFoundError, ProcessLookupError):
            return False
        listening += [ln.split() for ln in lines]
    return any(f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port for f in listening)


def wait_udp_bound(proc: subprocess.Popen, address: str, port: int, log: Path,
                   timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not udp_bound(proc.pid, address, port):
        if proc.poll() is not None:
            raise RuntimeError(f"exited with code {proc.returncode}: {log_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"not listening on UDP port {port} after {timeout:.0f}s: {log_tail(log)}")
        time.sleep(0.02)


def log_tail(log: Path) -> str:
    try:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except FileNotFoundError:
        return "(no log)"
    return lines[-1].strip() if lines else f"(nothing in {log})"


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
