"""`weft up`: NATS with JetStream, discovery, posture, detect, enforce and a local sensor.

In the foreground it supervises them until Ctrl-C. With --detach it re-runs itself as a
background supervisor (`--_supervise`, in a new session), relays that supervisor's
progress, and returns once every part is healthy."""
from __future__ import annotations

import argparse
import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

from weft.cli import certstore, endpoint, runlock
from weft.cli.lifecycle import Session, UpRequest
from weft.cli.main import CliError
from weft.cli.supervisor import WHOLE_STOP_S, Options
from weft.common.config import default_data_dir

EXAMPLES = """\
examples:
  weft up                          run everything here until Ctrl-C
  weft up --detach                 start in the background, return when healthy
  weft up --detach --no-sensor     no local eBPF sensor (replay sensors still connect,
                                   each with its certificate: weft certs sensor ...)
  weft up --sensor-cluster eks --provider aws --region eu-west-1
  weft up --detach --no-sensor --insecure-gateway
                                   replay a recording of several clusters: weft sensor --source replay ...

Every part logs to <data-dir>/logs/<part>.log; the run file <data-dir>/weft.json tells
`weft status`, `weft ingest` and `weft down` where this weft is (or set WEFT_ENDPOINT).

Security by default: NATS speaks only TLS, with one nkey user per service whose
permissions allow only its own subjects (seeds made anew each run under
<data-dir>/secrets/, mode 0600; each service gets only its own, the CLI its `cli`
user). The sensor gateway requires mutual TLS (unless --insecure-gateway): a sensor's
certificate names it as spiffe://weft/sensor/<cluster>/<node>, and it may send only
that node's events. The certificates are in <data-dir>/certs/, made by `weft certs
init` on the first `weft up`. The services' HTTP APIs take this run's bearer token,
kept in the run file for the CLI.
"""


def register(p: argparse.ArgumentParser) -> None:
    env = os.environ.get
    p.epilog = EXAMPLES
    add_data_dir_flag(p)
    p.add_argument("--detach", action="store_true", help="start in the background; return once every part is healthy")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="how long every part together may take to become ready (default 60)")
    p.add_argument("--no-sensor", action="store_true", help="do not start the local eBPF sensor")
    p.add_argument("--insecure-gateway", action="store_true",
                   help="sensors dial the gateway in plaintext and say themselves who they are (to replay "
                        "recordings of several clusters or nodes through one sensor); never on a network")
    p.add_argument("--sensor-cluster", default="local", metavar="NAME",
                   help="cluster name the local sensor reports (default local)")
    p.add_argument("--provider", default="", help="cloud provider the local sensor reports (aws, azure, gcp, other)")
    p.add_argument("--region", default="", help="region the local sensor reports")
    p.add_argument("--log-level", default=env("WEFT_LOG_LEVEL", "INFO"),
                   choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log level of every part (WEFT_LOG_LEVEL)")
    p.add_argument("--_supervise", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def add_data_dir_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", default=os.environ.get("WEFT_DATA_DIR", str(default_data_dir())),
                   help="where stores, logs and the run file live (WEFT_DATA_DIR)")


def run(args: argparse.Namespace) -> int:
    opts = Options(python=sys.executable, sensor=not args.no_sensor, sensor_cluster=args.sensor_cluster,
                   sensor_node=certstore.local_node(), gateway_tls=not args.insecure_gateway,
                   provider=args.provider, region=args.region)
    req = UpRequest(Path(args.data_dir).resolve(), args.timeout, args.log_level, opts)
    if args.detach and not args._supervise:
        return detach(args, req)
    detached = args._supervise
    return Session(req).run(lambda ep: healthy(ep, req.data_dir, detached))


def healthy(ep: endpoint.Endpoint, data_dir: Path, detached: bool) -> None:
    """Say where everything is; a detached supervisor then moves its output to its log."""
    stop = f"weft down --data-dir {data_dir}" + ("" if detached else "   (or Ctrl-C here)")
    print(f"weft is up (supervisor pid {ep.pids['supervisor']})\n"
          f"  nats      {ep.nats_url}   (TLS, one user per service; the CLI's in {endpoint.run_file(data_dir)})\n"
          f"  gateway   {ep.gateway}   {gateway_hint(ep)}\n"
          f"  ingest    {ep.ingest}   weft ingest FILE...\n"
          f"  logs      {data_dir / 'logs'}/\n"
          f"  stop      {stop}", flush=True)
    if detached:  # the relaying `weft up --detach` returns at EOF; later output goes to the log
        log = os.open(data_dir / "logs" / "weft-up.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)


def gateway_hint(ep: endpoint.Endpoint) -> str:
    if not ep.gateway_ca:
        return "sensors dial here in plaintext (--insecure-gateway): weft sensor --gateway ..."
    return f"sensors dial here with mutual TLS; their flags: weft certs sensor --dir {ep.certs_dir} --cluster C --node N"


def detach(args: argparse.Namespace, req: UpRequest) -> int:
    if runlock.holder(req.data_dir) is not None:
        raise CliError(f"weft is already running on {req.data_dir}; stop it with "
                       f"`weft down --data-dir {req.data_dir}`")
    argv = [sys.executable, "-m", "weft.cli.main", "up", "--_supervise", "--data-dir", str(req.data_dir),
            "--timeout", str(req.timeout), "--log-level", req.log_level, "--sensor-cluster", args.sensor_cluster]
    argv += ["--no-sensor"] if args.no_sensor else []
    argv += ["--insecure-gateway"] if args.insecure_gateway else []
    argv += [a for flag in ("provider", "region") if getattr(args, flag) for a in (f"--{flag}", getattr(args, flag))]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        finished = relay(proc, time.monotonic() + req.timeout + WHOLE_STOP_S)
    except KeyboardInterrupt:
        finished = None
    if not finished:
        if finished is False:
            print(f"weft up: the supervisor (pid {proc.pid}) did not finish starting; stopping it", file=sys.stderr)
        proc.terminate()  # the supervisor stops whatever it started
        relay(proc, time.monotonic() + WHOLE_STOP_S)
        return 1 if finished is False else 130
    if supervises(req.data_dir, proc.pid):
        return 0
    try:
        return proc.wait(WHOLE_STOP_S) or 1
    except subprocess.TimeoutExpired:
        return 1


def relay(proc: subprocess.Popen, deadline: float) -> bool:
    """Echo the supervisor's output until it closes it (healthy, or gone); False at the deadline."""
    fd, pending, to_stderr = proc.stdout.fileno(), b"", False
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if not sel.select(min(left, 1.0)):
                continue
            chunk = os.read(fd, 65536)
            *lines, pending = (pending + chunk).split(b"\n") if chunk else (pending, b"")
            for line in filter(None, (x.decode(errors="replace") for x in lines)):
                if not line.startswith(" "):  # indented lines continue the previous one's stream
                    to_stderr = line.startswith(("warning:", "weft up:", "Traceback"))
                print(line, file=sys.stderr if to_stderr else sys.stdout, flush=True)
            if not chunk:
                return True
    return False


def supervises(data_dir: Path, pid: int) -> bool:
    try:
        return json.loads(endpoint.run_file(data_dir).read_text())["pids"]["supervisor"] == pid
    except (OSError, ValueError, KeyError):
        return False
