"""`python -m weft.cli.sensor_cert`: this node's sensor client certificate, got when the
sensor pod starts (the DaemonSet's initContainer).

The gateway takes a sensor's cluster and node from the one SAN URI of its certificate,
spiffe://weft/sensor/<cluster>/<node> (weft.common.devca). cert-manager cannot put a
node's name there: its csi-driver expands only POD_NAME, POD_NAMESPACE, POD_UID and
SERVICE_ACCOUNT_NAME in `csi.cert-manager.io/uri-sans`.

Two ways:
  --issuer URL   (in a cluster) ask the sensor issuer, `python -m weft.sensor.issuer`:
                 the key is made here and never leaves; a signing request goes with the
                 pod's projected service-account token, and the issuer signs for the node
                 the API server says this pod runs on. The CA's key stays off this node.
  --ca-dir DIR   (outside Kubernetes) sign here with the sensor CA in DIR (tls.crt,
                 tls.key), for the node --node names: whoever runs it holds the CA.

    --out DIR    tls.crt (this certificate, then the CA's) and tls.key (0600)
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from weft.common import devca, privatefile

ROUTE = "/v1/sensor-certificate"
MAX_ANSWER = 64 << 10
RETRY_S = (1, 2, 5, 10)    # between tries while the issuer is not there yet


class Refused(Exception):
    """The issuer said no (4xx): trying again would not change its mind."""


def issue(ca_dir: Path, out: Path, cluster: str, node: str, days: int) -> devca.Issued:
    ca = devca.load(ca_dir / "tls.crt", ca_dir / "tls.key")
    issued = devca.issue_sensor(ca, cluster, node, days)
    out.mkdir(parents=True, exist_ok=True)
    devca.save(issued, out / "tls.crt", out / "tls.key")
    # the CA's certificate after ours: a gateway that trusts a root above it can build the chain
    with open(out / "tls.crt", "ab") as f:
        f.write(ca.cert_pem())
    return issued


def request_from(issuer: str, issuer_ca: Path, token_file: Path, out: Path, wait_s: float,
                 say=lambda line: print(line, file=sys.stderr)) -> tuple[str, str]:
    """Ask the issuer until it answers or `wait_s` passes; the (cluster, node) it named.
    The key is written only with the certificate that goes with it."""
    key = ec.generate_private_key(ec.SECP256R1())
    tls = ssl.create_default_context(cafile=str(issuer_ca))
    chain = _ask_until_answered(issuer, tls, token_file, devca.sensor_request(key), wait_s, say)
    identity = _check(chain, key)
    out.mkdir(parents=True, exist_ok=True)
    privatefile.write(out / "tls.key", key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    privatefile.write(out / "tls.crt", chain)
    return identity


def _ask_until_answered(issuer: str, tls: ssl.SSLContext, token_file: Path, wanted: bytes, wait_s: float,
                        say) -> bytes:
    """Tries again while the issuer is unreachable or failing (5xx); a refusal (4xx), an
    issuer that does not verify or a token file that is not there ends it at once."""
    deadline = time.monotonic() + wait_s
    for attempt in itertools.count():
        token = token_file.read_text().strip()      # at each try: the kubelet rotates it
        try:
            return _ask(issuer, tls, token, wanted)
        except (OSError, TimeoutError) as e:     # URLError and 5xx are OSErrors
            if isinstance(getattr(e, "reason", e), ssl.SSLCertVerificationError):
                raise Refused(f"{issuer}: its certificate does not verify against the issuer CA: {_why(e)}") from None
            pause = RETRY_S[min(attempt, len(RETRY_S) - 1)]
            if time.monotonic() + pause > deadline:
                raise OSError(f"{issuer}: {_why(e)}; gave up after {wait_s:g}s") from None
            say(f"sensor certificate: {issuer}: {_why(e)}; trying again in {pause}s")
            time.sleep(pause)


def _ask(issuer: str, tls: ssl.SSLContext, token: str, wanted: bytes) -> bytes:
    req = urllib.request.Request(issuer.rstrip("/") + ROUTE, data=wanted, method="POST",
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/x-pem-file"})
    try:
        with urllib.request.urlopen(req, context=tls, timeout=15) as resp:
            return resp.read(MAX_ANSWER)
    except urllib.error.HTTPError as e:
        said = _error_of(e.read(4096))
        if 400 <= e.code < 500:
            raise Refused(f"the issuer refused (HTTP {e.code}): {said}") from None
        raise OSError(f"HTTP {e.code}: {said}") from None


def _check(chain: bytes, key: ec.EllipticCurvePrivateKey) -> tuple[str, str]:
    """The issuer's answer is a certificate for our key naming one sensor, or ValueError."""
    try:
        first = x509.load_pem_x509_certificates(chain)[0]
    except (ValueError, IndexError):
        raise ValueError("the issuer answered no certificate") from None
    if first.public_key() != key.public_key():
        raise ValueError("the issuer's certificate is not for the key this pod made")
    identity = devca.sensor_identity(first.public_bytes(serialization.Encoding.PEM))
    if identity is None:
        raise ValueError("the issuer's certificate names no sensor")
    return identity


def _error_of(body: bytes) -> str:
    try:
        return str(json.loads(body)["error"])[:300]
    except (ValueError, KeyError, TypeError):
        return body[:300].decode(errors="replace") or "(no reason given)"


def _why(e: Exception) -> str:
    return str(getattr(e, "reason", None) or e or type(e).__name__)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(prog="python -m weft.cli.sensor_cert", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--issuer", help="the sensor issuer's https:// URL")
    how.add_argument("--ca-dir", type=Path, help="sign here with the sensor CA in this directory")
    p.add_argument("--out", type=Path, required=True,
                   help="directory for tls.crt (the certificate, then the CA's) and tls.key (0600)")
    p.add_argument("--issuer-ca", type=Path, help="with --issuer: the CA of the issuer's certificate")
    p.add_argument("--token-file", type=Path,
                   help="with --issuer: the pod's projected service-account token for the issuer's audience")
    p.add_argument("--wait", type=float, default=300,
                   help="with --issuer: seconds to keep trying while it is unreachable (default %(default)s)")
    p.add_argument("--cluster", default=env("WEFT_CLUSTER", ""), help="with --ca-dir (WEFT_CLUSTER)")
    p.add_argument("--node", default=env("WEFT_NODE_NAME", ""), help="with --ca-dir (WEFT_NODE_NAME)")
    p.add_argument("--days", type=int, default=devca.DAYS, help="with --ca-dir: validity (default %(default)s)")
    args = p.parse_args(argv)
    if args.issuer:
        if not args.issuer.startswith("https://"):
            p.error("--issuer must be an https:// URL: the pod's token goes with the request")
        if not args.issuer_ca or not args.token_file:
            p.error("--issuer needs --issuer-ca and --token-file")
    elif not args.cluster or not args.node:
        p.error("the cluster and the node are needed: --cluster/WEFT_CLUSTER, --node/WEFT_NODE_NAME")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        if args.issuer:
            cluster, node = request_from(args.issuer, args.issuer_ca, args.token_file, args.out, args.wait)
        else:
            issue(args.ca_dir, args.out, args.cluster, args.node, args.days)
            cluster, node = args.cluster, args.node
    except (Refused, OSError, ValueError, TypeError) as e:
        print(f"sensor certificate: {e}", file=sys.stderr)
        return 1
    print(f"issued {devca.sensor_uri(cluster, node)} into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
