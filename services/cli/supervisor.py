"""What `weft up` starts, in what order, with what environment, and how it stops them.

Pure planning: no processes, sockets or files here, so the plan is unit tested as data.
The process I/O that carries a plan out lives in `weft.cli.children` and `weft.cli.lifecycle`.
"""
from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from weft.cli.certstore import CertDir
from weft.cli.endpoint import Endpoint
from weft.common import natsauth
from weft.common.natscreds import seed_file

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
class Security:
    """Where one weft's TLS certificates (weft.cli.certstore) and its NATS users' nkey
    seeds (weft.common.natscreds, made anew each run) are, and this run's HTTP API token."""
    certs: Path
    seeds: Path
    api_token: str = ""

    @classmethod
    def under(cls, data_dir: Path, api_token: str = "") -> "Security":
        return cls(data_dir / "certs", data_dir / "secrets" / "nats", api_token)


@dataclass(frozen=True)
class Options:
    python: str
    sensor: bool = True
    sensor_cluster: str = "local"
    sensor_node: str = ""             # "": the sensor's own default (the host name)
    gateway_tls: bool = True          # mutual TLS between sensors and the gateway
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
    if opts.sensor_node:
        argv += ["--node", opts.sensor_node]
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


NOT_INHERITED = ("WEFT_HTTP_PORT", "WEFT_GRPC_PORT", "WEFT_ENDPOINT", "WEFT_API_TOKEN")
# Credentials and certificates come from this run only, never from the caller's environment.
NOT_INHERITED_PREFIXES = ("WEFT_NATS_", "WEFT_GRPC_TLS_", "WEFT_SENSOR_TLS_")


def nats_url(ports: Ports) -> str:
    return f"tls://127.0.0.1:{ports.nats}"


def child_env(base: Mapping[str, str], part: str, data_dir: Path, ports: Ports, log_level: str,
              sec: Security, opts: Options) -> dict[str, str]:
    """`part`'s environment: its own NATS user's seed and nobody else's; the sensor,
    which speaks only gRPC, gets its client certificate and no NATS at all."""
    env = {k: v for k, v in base.items() if k not in NOT_INHERITED and not k.startswith(NOT_INHERITED_PREFIXES)}
    env.update(WEFT_DATA_DIR=str(data_dir), WEFT_LOG_LEVEL=log_level)
    certs = CertDir(sec.certs)
    ca = str(certs.ca.cert)
    if part == SENSOR:
        if opts.gateway_tls:
            pair = certs.sensor(opts.sensor_cluster, opts.sensor_node)
            env.update(WEFT_SENSOR_TLS_CERT=str(pair.cert), WEFT_SENSOR_TLS_KEY=str(pair.key), WEFT_SENSOR_TLS_CA=ca)
        return env
    env.update(WEFT_NATS_URL=nats_url(ports), WEFT_NATS_CA=ca,
               WEFT_NATS_NKEY_SEED_FILE=str(seed_file(sec.seeds, part)), WEFT_API_TOKEN=sec.api_token)
    if part == "discovery" and opts.gateway_tls:
        env.update(WEFT_GRPC_TLS_CERT=str(certs.gateway.cert), WEFT_GRPC_TLS_KEY=str(certs.gateway.key),
                   WEFT_GRPC_TLS_CA=ca)
    return env


def run_record(parts: list[Part], ports: Ports, pids: Mapping[str, int], cmdlines: Mapping[str, list[str]],
               data_dir: Path, sec: Security, opts: Options) -> Endpoint:
    """The run file of a healthy weft: where each part answers, which pid runs what, and
    what the CLI needs to reach NATS as its own user (the services' seeds stay out)."""
    services = {NATS: f"http://127.0.0.1:{ports.nats_monitor}", **{p.name: p.base_url for p in parts if p.base_url}}
    ca = str(CertDir(sec.certs).ca.cert)
    return Endpoint(nats_url=nats_url(ports), gateway=f"127.0.0.1:{ports.grpc}",
                    ingest=services["discovery"], services=services, pids=dict(pids), data_dir=str(data_dir),
                    cmdlines=dict(cmdlines), nats_ca=ca, gateway_ca=ca if opts.gateway_tls else "",
                    nats_seed_file=str(seed_file(sec.seeds, natsauth.OPERATOR)), certs_dir=str(sec.certs),
                    api_token=sec.api_token)


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
