"""`weft sensor`: run a sensor that dials the discovery gateway.

  --source replay FILE   stream a recorded JSONL export (the way exports are fed in)
  --source ebpf          watch this node with bcc programs in the kernel
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import socket
import sys

from weft import __version__
from weft.cli.main import CliError
from weft.common import logs, tracing
from weft.common.signals import stop_on_signals
from weft.v1 import event_pb2, sensor_pb2

PROVIDERS = [p for p in event_pb2.Node.Provider.keys() if p != "PROVIDER_UNSPECIFIED"]


def register(p: argparse.ArgumentParser) -> None:
    p.epilog = ("examples:\n  weft sensor --source replay events.jsonl --cluster eks --speed 0\n"
                "  weft sensor --source ebpf --cluster aks --provider AZURE --watch-cgroup /sys/fs/cgroup/unified/kubepods")
    env = os.environ.get
    p.add_argument("file", nargs="?", help="JSONL of weft.v1.RuntimeEvent (with --source replay; - for stdin)")
    p.add_argument("--source", choices=["replay", "ebpf"], default="ebpf", help="where events come from")
    p.add_argument("--gateway", default=env("WEFT_GATEWAY", ""),
                   help="discovery's gateway HOST:PORT (WEFT_GATEWAY; default: the running weft's)")
    p.add_argument("--cluster", default=env("WEFT_CLUSTER", ""), help="this node's cluster (WEFT_CLUSTER)")
    p.add_argument("--provider", default=env("WEFT_PROVIDER", "OTHER"), type=str.upper, choices=PROVIDERS)
    p.add_argument("--region", default=env("WEFT_REGION", ""))
    p.add_argument("--node", default=env("WEFT_NODE_NAME", socket.gethostname()), help="node name (WEFT_NODE_NAME)")
    p.add_argument("--egress-ip", action="append", default=[], help="the cluster's public NAT address (repeatable)")
    p.add_argument("--sensor-id", default="", help="stable id; default derived from cluster and node")
    p.add_argument("--speed", type=float, default=1.0,
                   help="replay pace: 1 = as recorded, 10 = ten times faster, 0 = as fast as possible")
    p.add_argument("--watch-cgroup", action="append", default=[], help="cgroup v2 subtree to watch (ebpf; repeatable)")
    p.add_argument("--exclude-cgroup", action="append", default=[], help="cgroup v2 subtree never watched (ebpf)")
    p.add_argument("--file-prefix", action="append", default=[], help="path prefix whose opens are reported (ebpf)")
    p.add_argument("--metadata-file", default="", help="workload metadata JSON (cgroup -> pod, workload, service account)")
    p.add_argument("--kube-metadata", action="store_true",
                   help="in a Kubernetes pod: list and watch this node's pods from the API server (the pod's "
                        "service account, with get/list/watch on pods) and keep the metadata file from them "
                        "(--metadata-file, default $WEFT_DATA_DIR/kube-metadata.json); attribution and "
                        "enforcement read it (ebpf)")
    sight = p.add_argument_group("agent sight (ebpf): HTTP, TLS plaintext and MCP, redacted before sending")
    sight.add_argument("--no-sight", dest="sight", action="store_false",
                       help="do not look at what processes send (no HTTP, LLM or MCP events)")
    sight.add_argument("--no-tls", dest="tls", action="store_false",
                       help="no OpenSSL uprobes (plain HTTP and stdio only)")
    sight.add_argument("--excerpt-bytes", type=int, default=int(env("WEFT_EXCERPT_BYTES", "256")),
                       help="length of prompt, response and argument excerpts; 0 for none (WEFT_EXCERPT_BYTES)")
    sight.add_argument("--redact", action="append", default=[], metavar="REGEX",
                       help="also remove text matching REGEX (repeatable; keys, tokens, cookies and "
                            "Authorization are always removed)")
    p.add_argument("--syscall-learning", default=env("WEFT_SYSCALL_LEARNING", "0"), metavar="DURATION",
                   help="learn each workload's syscalls (for seccomp) for this long after its cgroup is "
                        "first seen, e.g. 24h like discovery's --learning-window; 0: never, and the raw "
                        "syscall tracepoint is not attached (WEFT_SYSCALL_LEARNING)")
    p.add_argument("--nice", type=_nice, default=env("WEFT_SENSOR_NICE", "10"), metavar="N",
                   help="the priority the sensor's decoding runs at while it keeps up (ebpf): the "
                        "kernel keeps records meanwhile, so watched workloads run first; it takes its "
                        "full share back (nice 0) while its ring buffer fills. 0: never yield "
                        "(WEFT_SENSOR_NICE)")
    p.add_argument("--no-enforce", dest="enforce", action="store_false",
                   help="do not take enforcement programs from the gateway (ebpf)")
    p.add_argument("--bpf-pin-root", default=env("WEFT_BPF_PIN_ROOT", "/sys/fs/bpf/weft"),
                   help="bpffs directory enforcement programs are pinned under (per cluster and node), "
                        "so they outlive a restart (WEFT_BPF_PIN_ROOT)")
    tls = p.add_argument_group("mutual TLS: the gateway takes this sensor's cluster and node from its certificate")
    tls.add_argument("--tls-cert", default=env("WEFT_SENSOR_TLS_CERT", ""),
                     help="client certificate naming spiffe://weft/sensor/<cluster>/<node> (WEFT_SENSOR_TLS_CERT)")
    tls.add_argument("--tls-key", default=env("WEFT_SENSOR_TLS_KEY", ""), help="its key (WEFT_SENSOR_TLS_KEY)")
    tls.add_argument("--tls-ca", default=env("WEFT_SENSOR_TLS_CA", ""),
                     help="CA of the gateway's certificate (WEFT_SENSOR_TLS_CA)")
    tls.add_argument("--tls-server-name", default=env("WEFT_SENSOR_TLS_SERVER_NAME", ""),
                     help="name to expect in the gateway's certificate when the address dialled is not "
                          "in it (WEFT_SENSOR_TLS_SERVER_NAME)")
    p.add_argument("--http-port", type=int, default=int(env("WEFT_SENSOR_HTTP_PORT", "0")),
                   help="serve /healthz, /readyz (connected to the gateway), /metrics and /v1/status on "
                        "this port; 0: none (WEFT_SENSOR_HTTP_PORT)")
    p.add_argument("--http-host", default=env("WEFT_SENSOR_HTTP_HOST", "127.0.0.1"),
                   help="address for --http-port; /v1/status answers loopback callers only unless "
                        "WEFT_API_TOKEN is set (WEFT_SENSOR_HTTP_HOST)")
    p.add_argument("--protocol-version", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="print the final summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logs.setup("sensor", os.environ.get("WEFT_LOG_LEVEL", "WARNING"))
    if not args.cluster:
        raise CliError("--cluster is required (the cluster this sensor reports for)")
    if args.source == "ebpf":  # say what is missing before dialling anyone
        from weft.sensor.errors import SensorUnavailable, preflight
        if problems := preflight():
            raise CliError(str(SensorUnavailable(problems)), code=2)
        from weft.sensor.sight.redact import Redactor
        try:
            Redactor(tuple(args.redact))
        except ValueError as e:
            raise CliError(str(e), code=2) from None
    tracing.setup("weft-sensor", _data_dir())
    try:
        summary = asyncio.run(_main(args))
    finally:
        tracing.flush()
    print(json.dumps(summary) if args.json else _describe(summary))
    return 0


async def _main(args) -> dict:
    from weft.sensor.uplink import Refused, Uplink
    from weft.sensor import runner
    target, tls = _gateway(args)
    uplink = Uplink(target, _hello(args), credentials=_credentials(*tls),
                    server_name=args.tls_server_name, block_when_full=args.source == "replay")
    try:
        async with _serving(args, uplink):
            if args.source == "replay":
                if not args.file:
                    raise CliError("--source replay needs a FILE")
                with _open(args.file) as f:
                    return await runner.run_replay(uplink, f, os.path.basename(args.file), args.speed)
            return await _live(args, uplink, runner)
    except Refused as e:
        raise CliError(f"the gateway refused this sensor: {e}", code=3) from None


@contextlib.asynccontextmanager
async def _serving(args, uplink):
    """The sensor's HTTP endpoints (--http-port), up before the programs load: a probe
    sees the process alive while clang compiles them."""
    async with contextlib.AsyncExitStack() as stack:
        if args.http_port:
            from weft.sensor import health
            try:
                await stack.enter_async_context(health.serving(uplink, args.http_host, args.http_port))
            except OSError as e:
                raise CliError(f"--http-port {args.http_port}: {e.strerror or e}", code=2) from None
        yield


async def _live(args, uplink, runner) -> dict:
    stop = asyncio.Event()
    refresher = await _kube_metadata(args) if args.kube_metadata else None
    refreshing = asyncio.create_task(refresher.run(stop)) if refresher else None
    try:
        return await _collect(args, uplink, runner, stop, refresher)
    finally:
        if refreshing is not None:
            stop.set()
            await asyncio.gather(refreshing, return_exceptions=True)


async def _kube_metadata(args):
    """The refresher of this node's pods, its first refresh done; args.metadata_file now
    names its file."""
    from weft.common.kubeapi import ApiServer, KubeApiError
    from weft.sensor.kubemeta import KubeMetadata
    try:
        api = ApiServer.in_cluster()
    except KubeApiError as e:
        raise CliError(f"--kube-metadata: {e}", code=2) from None
    args.metadata_file = args.metadata_file or os.path.join(_data_dir(), "kube-metadata.json")
    refresher = KubeMetadata(api, args.node, args.metadata_file)
    await refresher.refresh_logged()
    return refresher


async def _collect(args, uplink, runner, stop: asyncio.Event, refresher=None) -> dict:
    from weft.sensor.ebpf import EbpfCollector, EbpfConfig, collect
    from weft.sensor.errors import SensorUnavailable
    cfg = EbpfConfig(node=uplink.hello.node, watch_cgroups=args.watch_cgroup,
                     exclude_cgroups=args.exclude_cgroup, metadata_file=args.metadata_file or None,
                     sight=args.sight, tls=args.tls, excerpt_bytes=max(0, args.excerpt_bytes),
                     redact_patterns=args.redact, syscall_learning_s=_seconds(args.syscall_learning),
                     yield_nice=args.nice)
    if args.file_prefix:
        cfg.file_prefixes = args.file_prefix
    stop_on_signals(stop)
    tending = None
    try:
        if args.enforce:
            from weft.sensor.enforcing import enforcer_for, tend
            enforcer = enforcer_for(uplink, uplink.hello.node, args.metadata_file or None, args.bpf_pin_root)
            if enforcer is not None:
                tending = asyncio.create_task(tend(enforcer, uplink, stop))
        collector = EbpfCollector(cfg)

        def stats() -> dict:
            found = collector.stats()
            if tending is not None:
                found["enforcement"] = enforcer.status()
            if refresher is not None:
                found["kube_metadata"] = dict(refresher.counts)
            return found
        if args.http_port:
            from weft.sensor import health
            health.METRICS.stats = stats
        return await runner.run_live(uplink, collect(cfg, collector=collector), stats, stop)
    except SensorUnavailable as e:
        raise CliError(str(e), code=2) from None
    except ValueError as e:  # a configuration the kernel programs cannot take (prefix too long, ...)
        raise CliError(str(e), code=2) from None
    finally:
        if tending is not None:   # enforcement itself stays in the kernel, pinned, as declared
            stop.set()
            await asyncio.gather(tending, return_exceptions=True)


def _seconds(spec: str) -> float:
    from weft.common import durations
    if spec.strip() in ("0", ""):
        return 0
    try:
        return durations.seconds(spec)
    except ValueError as e:
        raise CliError(f"--syscall-learning: {e}", code=2) from None


def _nice(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 19:
        raise argparse.ArgumentTypeError(f"{text!r} is not a nice value from 0 to 19")
    return value


def _hello(args) -> sensor_pb2.Hello:
    node = event_pb2.Node(cluster=args.cluster, provider=event_pb2.Node.Provider.Value(args.provider),
                          region=args.region, name=args.node, egress_ips=args.egress_ip)
    sid = args.sensor_id or hashlib.blake2b(f"{args.cluster}/{args.node}/{args.source}".encode(),
                                            digest_size=8).hexdigest()
    from weft.discovery.protocol import PROTOCOL_VERSION
    return sensor_pb2.Hello(sensor_id=sid, protocol_version=args.protocol_version or PROTOCOL_VERSION,
                            sensor_version=__version__, node=node, capabilities=[args.source])


def _gateway(args) -> tuple[str, tuple[str, str, str]]:
    """(HOST:PORT, (cert, key, CA)): the flags', else the running weft's gateway with a
    certificate its development CA issues for this cluster and node."""
    flags = (args.tls_cert, args.tls_key, args.tls_ca)
    if args.gateway:
        return args.gateway, flags
    from weft.cli import endpoint
    ep = endpoint.load()
    if not ep.gateway:
        raise CliError("the running weft has no sensor gateway; pass --gateway HOST:PORT")
    if any(flags):
        return ep.gateway, flags
    return ep.gateway, endpoint.sensor_tls(ep, args.cluster, args.node) or flags


def _credentials(cert: str, key: str, ca: str):
    if bool(cert) != bool(key) or (cert and not ca):
        raise CliError("--tls-cert and --tls-key go together, with --tls-ca (mutual TLS)", code=2)
    if not ca:
        return None
    import grpc
    return grpc.ssl_channel_credentials(*(_read(p) for p in (ca, key, cert)))


def _read(path: str) -> bytes | None:
    if not path:
        return None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise CliError(f"cannot read {path}: {e.strerror}", code=2) from None


def _open(path: str):
    if path == "-":
        return os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    try:
        return open(path, "rb")
    except OSError as e:
        raise CliError(f"cannot read {path}: {e.strerror}") from None


def _data_dir() -> str | None:
    from weft.common.config import default_data_dir
    return os.environ.get("WEFT_DATA_DIR") or str(default_data_dir())


def _describe(s: dict) -> str:
    return (f"sent {s['events_total']} events in {s['batches']} batches, {s['rejects']} lines rejected "
            f"(dead-lettered), {s['acked']} acknowledged, {s['reconnects']} reconnects"
            + (f", {s['overflow_events']} events lost to buffer overflow" if s["overflow_events"] else ""))
