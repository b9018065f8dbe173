"""`weft certs`: a development CA and the certificates `weft up` and the lab use for
TLS on NATS and mutual TLS between sensors and the gateway."""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from weft.cli import certstore
from weft.cli.main import CliError
from weft.common.config import default_data_dir

EPILOG = """\
what `init` makes (kept when present, signed by the CA and not about to expire):
  ca.pem, ca.key                 a development CA: its key signs everything below
  nats.pem, nats.key             the NATS server (127.0.0.1, localhost)
  gateway.pem, gateway.key       the sensor gateway, gRPC (127.0.0.1, localhost)
  sensors/<cluster>/<node>.pem   one client certificate per sensor, naming it as
                                 spiffe://weft/sensor/<cluster>/<node>: the lab's eks,
                                 aks and gke nodes, and this machine as cluster `local`
Keys are mode 0600. `weft up` runs `init` into <data-dir>/certs. This CA is for
development and the lab: in production, issue from your own, and put its ca.pem
(without ca.key) and what it issued in the directory; init then only checks them.

examples:
  weft certs init                                  into $WEFT_DATA_DIR/certs
  weft certs init --dir /etc/weft/certs --force    everything new, the CA too
  weft certs sensor --cluster eks --node ip-10-0-3-17.ec2.internal
      prints the flags that sensor runs with: --tls-cert ... --tls-key ... --tls-ca ...
"""


def default_dir() -> Path:
    return Path(os.environ.get("WEFT_DATA_DIR") or default_data_dir()) / "certs"


def register(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    sub = p.add_subparsers(dest="certs_command", metavar="SUBCOMMAND", required=True)
    init = sub.add_parser("init", help="the CA, NATS and gateway certificates, and the lab's and this "
                                       "machine's sensor certificates")
    sensor = sub.add_parser("sensor", help="one more sensor certificate, from the CA `init` made")
    sensor.add_argument("--cluster", required=True, help="the cluster the sensor reports")
    sensor.add_argument("--node", required=True, help="the node name the sensor reports (weft sensor --node)")
    for s in (init, sensor):
        s.add_argument("--dir", type=Path, default=default_dir(),
                       help="where the certificates live (default $WEFT_DATA_DIR/certs)")
        s.add_argument("--force", action="store_true", help="issue anew what exists (with init: the CA too)")
        s.add_argument("--json", action="store_true", help="print what was created and kept as JSON")
    init.set_defaults(func=run_init)
    sensor.set_defaults(func=run_sensor)


def run_init(args: argparse.Namespace) -> int:
    try:
        out = certstore.init(args.dir, certstore.default_sensors(), force=args.force)
    except certstore.CannotIssue as e:
        raise CliError(str(e)) from None
    report(args, out, sensors=[(s.cluster, s.node) for s in certstore.default_sensors()])
    return 0


def run_sensor(args: argparse.Namespace) -> int:
    try:
        out = certstore.add_sensor(args.dir, args.cluster, args.node, force=args.force)
    except (FileNotFoundError, certstore.CannotIssue) as e:
        raise CliError(str(e)) from None
    report(args, out, sensors=[(args.cluster, args.node)])
    if not args.json:
        d = certstore.CertDir(args.dir)
        pair = d.sensor(args.cluster, args.node)
        print(f"weft sensor --cluster {args.cluster} --node {args.node} "
              f"--tls-cert {pair.cert} --tls-key {pair.key} --tls-ca {d.ca.cert} ...")
    return 0


def report(args: argparse.Namespace, out: certstore.Outcome, sensors: list[tuple[str, str]]) -> None:
    d = certstore.CertDir(args.dir)
    if args.json:
        pairs = [d.sensor(c, n) for c, n in sensors]
        print(json.dumps({"dir": str(d.root), "ca": str(d.ca.cert),
                          "sensors": [{"cluster": c, "node": n, "cert": str(p.cert), "key": str(p.key)}
                                      for (c, n), p in zip(sensors, pairs)],
                          "created": [str(p) for p in out.created], "kept": [str(p) for p in out.kept]},
                         indent=2))
        return
    for path in out.created:
        print(f"created {path}")
    for path in out.kept:
        print(f"kept    {path}")
