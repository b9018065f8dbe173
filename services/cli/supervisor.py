"""What `weft up` starts, in what order, with what environment, and how it stops them.

Pure planning: no processes, sockets or files here, so the plan is unit tested as data.
The process I/O that carries a plan out lives in `weft.cli.children` and `weft.cli.lifecycle`.
"""
from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from weft.cli.endpoint import Endpoint

STAGES = ("posture", "detect", "enforce")
SENSOR = "sensor"
NATS = "nats"
SUPERVISOR = "supervisor"
STOP_TIMEOUT_S = 15.0   # per wave: a stage drains its consumers (up to 10 s), then NATS (5 s)
WHOLE_STOP_S = 4 * STOP_TIMEOUT_S + 15   # every wave stopping one after another, with room


@dataclass(frozen=True)
class Part:
    """One process of a running weft. `wave`: parts of a wave start together and
    must all be ready before the next wave starts; they stop in the reverse order."""
    name: str
    wave: int
    argv: tuple[str, ...] = ()        # empty for nats, which weft.common.natsserver starts
    http_port: int = 0                # 0: no readiness endpoint; alive after a grace is ready
    optional: bool = False            # its failure is a warning, not the end of weft

    @property
    def ready_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/readyz" if self.http_port else ""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}" if self.http_port else ""


@dataclass(frozen=True)
class Ports:
    nats: int
    nats_monitor: int
    grpc: int
    http: Mapping[str, int]           # discovery and each stage -> its HTTP port


@dataclass(frozen=True)
class Options:
    python: str
    sensor: bool = True
    sensor_cluster: str = "local"
    provider: str = ""
    region: str = ""
    # Subtrees the local sensor must not watch: weft's own cgroup, and the lab's, whose
    # clusters have sensors of their own (else each lab event would be reported twice).
    exclude_cgroups: tuple[str, ...] = ()


def plan(opts: Options, ports: Ports) -> list[Part]:
    """Every part in start order: nats, discovery (the gateway), the stages, the sensor."""
    http = ports.http
    parts = [Part(NATS, 0),
             Part("discovery", 1, (opts.python, "-m", "weft.discovery", "--http-port", str(http["discovery"]),
                                   "--grpc-host", "127.0.0.1", "--grpc-port", str(ports.grpc)),
                  http["discovery"])]
    parts += [Part(s, 2, (opts.python, "-m", f"weft.{s}", "--http-port", str(http[s])), http[s]) for s in STAGES]
    if opts.sensor:
        parts.append(Part(SENSOR, 3, sensor_argv(opts, ports.grpc), optional=True))
    return parts


def sensor_argv(opts: Options, grpc_port: int) -> tuple[str, ...]:
    argv = [opts.python, "-m", "weft.cli.main", "sensor", "--source", "ebpf",
            "--gateway", f"127.0.0.1:{grpc_port}", "--cluster", opts.sensor_cluster]
    for path in opts.exclude_cgroups:
        argv += ["--exclude-cgroup", path]
    for flag, value in (("--provider", opts.provider), ("--region", opts.region)):
        if value:
            argv += [flag, value]
    return tuple(argv)


def start_waves(parts: list[Part]) -> list[list[Part]]:
    waves = sorted({p.wave for p in parts})
    return [[p for p in parts if p.wave == w] for w in waves]


def stop_waves(parts: list[Part]) -> list[list[Part]]:
    """Reverse start order: the sensor stops producing first, NATS goes last so stages drain."""
    return list(reversed(start_waves(parts)))


def child_env(base: Mapping[str, str], data_dir: Path, nats_url: str, token: str, log_level: str) -> dict[str, str]:
    env = {k: v for k, v in base.items() if k not in ("WEFT_HTTP_PORT", "WEFT_GRPC_PORT", "WEFT_ENDPOINT")}
    env.update(WEFT_DATA_DIR=str(data_dir), WEFT_NATS_URL=nats_url, WEFT_NATS_TOKEN=token,
               WEFT_LOG_LEVEL=log_level)
    return env


def run_record(parts: list[Part], ports: Ports, pids: Mapping[str, int], cmdlines: Mapping[str, list[str]],
               data_dir: Path, token: str) -> Endpoint:
    """The run file of a healthy weft: where each part answers, and which pid runs what."""
    services = {NATS: f"http://127.0.0.1:{ports.nats_monitor}", **{p.name: p.base_url for p in parts if p.base_url}}
    return Endpoint(nats_url=f"nats://127.0.0.1:{ports.nats}", gateway=f"127.0.0.1:{ports.grpc}",
                    ingest=services["discovery"], services=services, pids=dict(pids), data_dir=str(data_dir),
                    nats_token=token, cmdlines=dict(cmdlines))


def exit_reason(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


def cmdline_matches(recorded: list[str] | tuple[str, ...] | None, actual: list[str] | None) -> bool:
    """A recorded pid is still ours only if it runs exactly what was recorded; a pid
    the kernel reused for another program (or a zombie, whose cmdline is empty) is not."""
    return bool(recorded) and bool(actual) and list(recorded) == list(actual)


def still_running(pids: Mapping[str, int], cmdlines: Mapping[str, list[str]],
                  read_cmdline: Callable[[int], list[str] | None]) -> dict[str, int]:
    """The recorded parts whose pid still runs the recorded command line."""
    return {name: pid for name, pid in pids.items()
            if cmdline_matches(cmdlines.get(name), read_cmdline(pid))}


def stop_order(names: list[str]) -> list[str]:
    """Recorded part names in the order `weft down` stops them when no supervisor is left."""
    rank = {SUPERVISOR: -1, SENSOR: 0, **{s: 1 for s in STAGES}, "discovery": 2, NATS: 3}
    return sorted(names, key=lambda n: rank.get(n, 1))
