"""One weft's life under its supervisor: lock the data dir, start the parts wave by wave,
wait until each is ready, write the run file, watch the children, stop them in reverse."""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from weft.cli import certstore, cgroup, children, endpoint, natsup
from weft.cli.children import PartFailed
from weft.cli.main import CliError
from weft.cli.runlock import DataDirLock, leftovers
from weft.cli.supervisor import (NATS, STOP_TIMEOUT_S, SUPERVISOR, Options, Part, Ports, Security, child_env,
                                 exit_reason, plan, run_record, start_waves, stop_waves)
from weft.common import logs, natsserver
from weft.lab import topology

WATCH_S = 0.25


@dataclass(frozen=True)
class UpRequest:
    data_dir: Path
    timeout: float
    log_level: str
    options: Options


def say(line: str) -> None:
    print(line, flush=True)


def warn(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def not_watched(own_cgroup: Path | None) -> tuple[str, ...]:
    if own_cgroup is None:
        return ()
    return (str(own_cgroup), str(own_cgroup.parent / topology.CGROUP_ROOT))


class Session:
    def __init__(self, req: UpRequest):
        self.req = req
        self.logs = req.data_dir / "logs"
        self.options = req.options
        self.parts: list[Part] = []
        self.procs: dict[str, subprocess.Popen] = {}
        self.stop_reason = ""

    def run(self, on_healthy: Callable[[endpoint.Endpoint], None]) -> int:
        data_dir = self.req.data_dir
        lock = DataDirLock(data_dir)
        if not lock.acquire():
            raise CliError(f"weft is already running on {data_dir}; stop it with `weft down --data-dir {data_dir}`")
        try:
            if left := leftovers(data_dir):
                names = ", ".join(f"{n} pid {p}" for n, p in left.items())
                raise CliError(f"an earlier weft on {data_dir} left processes running ({names}): "
                               f"run `weft down --data-dir {data_dir}` first")
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, self._request_stop)
            own_cgroup = cgroup.join_own()
            try:
                return self._run(own_cgroup[0] if own_cgroup else None, on_healthy)
            finally:
                self.stop_all()
                self._remove_run_file()
                if own_cgroup:
                    cgroup.leave(*own_cgroup)
        finally:
            lock.release()

    def _request_stop(self, signum: int, _frame) -> None:
        self.stop_reason = self.stop_reason or signal.Signals(signum).name

    def _run(self, own_cgroup: Path | None, on_healthy: Callable[[endpoint.Endpoint], None]) -> int:
        self.logs.mkdir(parents=True, exist_ok=True)
        ports, sec = children.pick_ports(), Security.under(self.req.data_dir, secrets.token_urlsafe(32))
        self.options = replace(self.req.options, exclude_cgroups=not_watched(own_cgroup))
        self.parts = plan(self.options, ports)
        try:
            self._start(ports, sec)
        except (PartFailed, natsserver.NatsUnavailable) as e:
            if self.stop_reason:
                warn(f"weft up: start interrupted by {self.stop_reason}; stopping what was started")
            elif isinstance(e, PartFailed):
                self._report_failure(e.part.name, e.reason)
            else:
                self._report_failure(NATS, f"did not start: {e}")
            return 1
        pids = {SUPERVISOR: os.getpid(), **{n: p.pid for n, p in self.procs.items()}}
        ep = run_record(self.parts, ports, pids, {n: children.read_cmdline(p) or [] for n, p in pids.items()},
                        self.req.data_dir, sec, self.options)
        endpoint.write(ep, endpoint.run_file(self.req.data_dir))
        on_healthy(ep)
        if failed := self._watch():
            self._report_failure(failed, f"{exit_reason(self.procs[failed].returncode)} unexpectedly")
            return 1
        say(f"stopping weft ({self.stop_reason})")
        return 0

    def _start(self, ports: Ports, sec: Security) -> None:
        deadline = time.monotonic() + self.req.timeout
        for wave in start_waves(self.parts):
            for part in wave:
                if part.name == NATS:
                    sensors = certstore.default_sensors(self.options.sensor_cluster, self.options.sensor_node)
                    self.procs[NATS], url = natsup.start(self.req.data_dir, sec, ports.nats, sensors,
                                                         self.logs / "nats.log", ports.nats_monitor)
                    say(f"{NATS:<10} … ok  {url}")
                else:
                    env = child_env(os.environ, part.name, self.req.data_dir, ports, self.req.log_level, sec,
                                    self.options)
                    self.procs[part.name] = children.spawn(part, self.logs / f"{part.name}.log", env)
            for part in wave:
                if part.name != NATS:
                    self._await(part, deadline)

    def _await(self, part: Part, deadline: float) -> None:
        try:
            secs = children.wait_ready(part, self.procs[part.name], deadline, lambda: bool(self.stop_reason))
        except PartFailed as e:
            if not part.optional or self.stop_reason:
                raise
            last = logs.tail(self.logs / f"{part.name}.log", 1)
            warn(f"warning: {e}: {last[0] if last else 'no output'}; carrying on without it")
            self.procs.pop(part.name)
            return
        say(f"{part.name:<10} … ok  {part.base_url or 'running'} ({secs:.1f}s)")

    def _watch(self) -> str | None:
        """Until a signal: the name of a required part that died, else None."""
        while not self.stop_reason:
            for part in self.parts:
                proc = self.procs.get(part.name)
                if proc is None or proc.poll() is None:
                    continue
                if not part.optional:
                    return part.name
                warn(f"warning: {part.name} {exit_reason(proc.returncode)}; see {self.logs / part.name}.log")
                self.procs.pop(part.name)
            time.sleep(WATCH_S)
        return None

    def stop_all(self) -> None:
        for wave in stop_waves(self.parts):
            running = {p.name: self.procs.pop(p.name) for p in wave if p.name in self.procs}
            if not running:
                continue
            killed = children.stop_procs(list(running.values()), STOP_TIMEOUT_S)
            for name, proc in running.items():
                how = f"killed (still running {STOP_TIMEOUT_S:.0f}s after SIGTERM)" if proc in killed else "stopped"
                say(f"{name:<10} … {how}")

    def _report_failure(self, name: str, reason: str) -> None:
        log = self.logs / f"{name}.log"
        warn(f"weft up: {name} {reason}; last lines of {log}:")
        for line in logs.tail(log) or ["(empty)"]:
            warn(f"  {line}")

    def _remove_run_file(self) -> None:
        path = endpoint.run_file(self.req.data_dir)
        try:
            if json.loads(path.read_text())["pids"].get(SUPERVISOR) == os.getpid():
                path.unlink()
        except (OSError, ValueError, KeyError):
            pass

