"""`weft down`: stop what `weft up` started, and nothing else.

It asks the supervisor to stop (it stops its children in reverse start order); parts
left without a supervisor are stopped directly. A recorded pid is signalled only while
/proc/<pid>/cmdline still matches what `weft up` recorded for it."""
from __future__ import annotations

import argparse
import json
import os
import signal
import time
from pathlib import Path

from weft.cli import endpoint, runlock
from weft.cli.children import POLL_S, read_cmdline, signal_group
from weft.cli.supervisor import SUPERVISOR, WHOLE_STOP_S, cmdline_matches, still_running, stop_order
from weft.cli.up import add_data_dir_flag

EXAMPLES = """\
examples:
  weft down                        stop the weft of the default data dir
  weft down --data-dir /tmp/w      stop the weft started with that --data-dir
"""


def register(p: argparse.ArgumentParser) -> None:
    p.epilog = EXAMPLES
    add_data_dir_flag(p)
    p.add_argument("--timeout", type=float, default=WHOLE_STOP_S, metavar="SECONDS",
                   help=f"how long to wait for everything to stop before SIGKILL (default {WHOLE_STOP_S:.0f})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path = Path(os.environ["WEFT_ENDPOINT"]) if os.environ.get("WEFT_ENDPOINT") else endpoint.run_file(args.data_dir)
    record = read_record(path)
    data_dir = Path(record.get("data_dir") or args.data_dir)
    pids, cmdlines = record.get("pids", {}), record.get("cmdlines", {})
    targets = still_running(pids, cmdlines, read_cmdline)
    sup = runlock.holder(data_dir)  # a supervisor still starting has no run file yet
    if sup and cmdline_matches(sup.get("cmdline"), read_cmdline(sup.get("pid", 0))):
        targets[SUPERVISOR], cmdlines = sup["pid"], {**cmdlines, SUPERVISOR: sup["cmdline"]}
    stop(targets, cmdlines, args.timeout)
    path.unlink(missing_ok=True)
    spared = {n: p for n, p in pids.items() if n not in targets and alive(p)}
    for name, pid in spared.items():
        print(f"left pid {pid} alone: it no longer runs weft's {name}")
    if targets:
        print("stopped " + ", ".join(f"{n} (pid {p})" for n, p in targets.items()))
    elif not spared:
        print(f"no weft is running on {data_dir}" + (f"; removed the stale {path}" if record else ""))
    return 0


def read_record(path: Path) -> dict:
    try:
        record = json.loads(path.read_text())
        return record if isinstance(record, dict) else {}
    except (OSError, ValueError):
        return {}


def stop(targets: dict[str, int], cmdlines: dict, timeout: float) -> None:
    """SIGTERM the supervisor and let it stop its children; stop directly what outlives it."""
    if SUPERVISOR in targets:
        send(SUPERVISOR, targets[SUPERVISOR], signal.SIGTERM)
        wait_gone(targets, cmdlines, time.monotonic() + timeout)
    left = still_running(targets, cmdlines, read_cmdline)
    for name in stop_order(list(left)):
        send(name, left[name], signal.SIGTERM)
    left = wait_gone(left, cmdlines, time.monotonic() + timeout)
    for name, pid in left.items():
        send(name, pid, signal.SIGKILL)
    wait_gone(left, cmdlines, time.monotonic() + 5)


def send(name: str, pid: int, sig: int) -> None:
    """A part leads its own process group; a foreground supervisor shares its shell job's."""
    if name != SUPERVISOR:
        signal_group(pid, sig)
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def wait_gone(targets: dict[str, int], cmdlines: dict, deadline: float) -> dict[str, int]:
    """Poll until none of `targets` runs its recorded command line; returns those that still do."""
    while (left := still_running(targets, cmdlines, read_cmdline)) and time.monotonic() < deadline:
        time.sleep(POLL_S)
    return left


def alive(pid: int) -> bool:
    return isinstance(pid, int) and pid > 0 and Path(f"/proc/{pid}").exists()
