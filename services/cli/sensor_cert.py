"""`python -m weft.cli.sensor_cert`: this node's sensor client certificate, issued when the
sensor pod starts (the DaemonSet's initContainer) by a CA dedicated to sensors.

The gateway takes a sensor's cluster and node from the one SAN URI of its certificate,
spiffe://weft/sensor/<cluster>/<node> (weft.common.devca). cert-manager cannot put a
node's name there: its csi-driver expands only POD_NAME, POD_NAMESPACE, POD_UID and
SERVICE_ACCOUNT_NAME in `csi.cert-manager.io/uri-sans`. So the pod issues its own, for
the node the downward API names (WEFT_NODE_NAME from spec.nodeName).

    --ca-dir DIR   tls.crt and tls.key: the sensor CA (an EC key, as devca issues)
    --out DIR      tls.crt (this certificate, then the CA's) and tls.key (0600)
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from weft.common import devca


def issue(ca_dir: Path, out: Path, cluster: str, node: str, days: int) -> devca.Issued:
    ca = devca.load(ca_dir / "tls.crt", ca_dir / "tls.key")
    issued = devca.issue_sensor(ca, cluster, node, days)
    out.mkdir(parents=True, exist_ok=True)
    devca.save(issued, out / "tls.crt", out / "tls.key")
    # the CA's certificate after ours: a gateway that trusts a root above it can build the chain
    with open(out / "tls.crt", "ab") as f:
        f.write(ca.cert_pem())
    return issued


def main(argv: list[str] | None = None) -> int:
    env = os.environ.get
    p = argparse.ArgumentParser(prog="python -m weft.cli.sensor_cert", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ca-dir", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--cluster", default=env("WEFT_CLUSTER", ""), help="(WEFT_CLUSTER)")
    p.add_argument("--node", default=env("WEFT_NODE_NAME", ""), help="(WEFT_NODE_NAME)")
    p.add_argument("--days", type=int, default=devca.DAYS, help="validity (default %(default)s)")
    args = p.parse_args(argv)
    if not args.cluster or not args.node:
        p.error("the cluster and the node are needed: --cluster/WEFT_CLUSTER, --node/WEFT_NODE_NAME")
    try:
        issue(args.ca_dir, args.out, args.cluster, args.node, args.days)
    except (OSError, ValueError, TypeError) as e:
        print(f"sensor certificate: {e}", file=sys.stderr)
        return 1
    print(f"issued {devca.sensor_uri(args.cluster, args.node)} into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
