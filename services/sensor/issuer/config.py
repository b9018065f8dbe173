"""The sensor issuer's settings: flags first, then WEFT_* environment, then defaults."""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from weft.common import devca


@dataclass(frozen=True)
class IssuerConfig:
    host: str
    port: int
    tls_cert: Path          # the issuer's own server certificate and key (sensors check it)
    tls_key: Path
    ca_dir: Path            # tls.crt, tls.key: the sensor CA
    cluster: str
    service_account: str    # namespace:name of the sensors' ServiceAccount
    audience: str
    days: int
    log_level: str
    http_host: str = "127.0.0.1"   # plain HTTP: /healthz, /readyz, /metrics (no certificates)
    http_port: int = 0
    kube_api: str = ""      # URL of the API server; "" in the cluster it runs in
    kube_ca: str = ""
    kube_token_file: str = ""


def parse(argv: list[str] | None = None) -> IssuerConfig:
    env = os.environ.get
    p = argparse.ArgumentParser(
        prog="python -m weft.sensor.issuer",
        description="weft's sensor issuer: signs each sensor's certificate, "
                    "spiffe://weft/sensor/<cluster>/<node>, for the node the Kubernetes API server "
                    "says the asking pod runs on (a TokenReview of its projected service-account "
                    "token). The sensor CA's key stays here, off the sensors' nodes.",
        epilog="The sensor's initContainer asks with: python -m weft.cli.sensor_cert --issuer URL "
               "--issuer-ca CA --token-file TOKEN --out DIR (deploy/README.md, 'Sensor certificates').")
    p.add_argument("--host", default=env("WEFT_ISSUER_HOST", "127.0.0.1"),
                   help="address to listen on (WEFT_ISSUER_HOST); 0.0.0.0 in a cluster")
    p.add_argument("--port", type=int, default=int(env("WEFT_ISSUER_PORT", "8443")),
                   help="HTTPS port (WEFT_ISSUER_PORT, default %(default)s)")
    p.add_argument("--tls-cert", default=env("WEFT_ISSUER_TLS_CERT", ""),
                   help="the issuer's server certificate, PEM (WEFT_ISSUER_TLS_CERT); required: "
                        "sensors send bearer tokens")
    p.add_argument("--tls-key", default=env("WEFT_ISSUER_TLS_KEY", ""), help="its key (WEFT_ISSUER_TLS_KEY)")
    p.add_argument("--ca-dir", default=env("WEFT_SENSOR_CA_DIR", ""),
                   help="directory with tls.crt and tls.key: the sensor CA (WEFT_SENSOR_CA_DIR)")
    p.add_argument("--cluster", default=env("WEFT_CLUSTER", ""),
                   help="this cluster's name in weft, put in every certificate (WEFT_CLUSTER)")
    p.add_argument("--service-account", default=env("WEFT_ISSUER_SERVICE_ACCOUNT", "weft-sensor:weft-sensor"),
                   help="namespace:name of the sensors' ServiceAccount (default %(default)s)")
    p.add_argument("--audience", default=env("WEFT_ISSUER_AUDIENCE", "weft-sensor-issuer"),
                   help="audience of the sensors' projected tokens (default %(default)s)")
    p.add_argument("--days", type=int, default=devca.DAYS, help="validity of a certificate (default %(default)s)")
    p.add_argument("--http-host", default=env("WEFT_HTTP_HOST", "127.0.0.1"),
                   help="address of health, readiness and /metrics over plain HTTP (WEFT_HTTP_HOST)")
    p.add_argument("--http-port", type=int, default=int(env("WEFT_HTTP_PORT", "0")),
                   help="their port; 0 picks one (WEFT_HTTP_PORT). Certificates are served over HTTPS only")
    p.add_argument("--kube-api", default=env("WEFT_KUBE_API", ""),
                   help="the API server that reviews tokens, when not this pod's own cluster's "
                        "(WEFT_KUBE_API; then --kube-ca and --kube-token-file too)")
    p.add_argument("--kube-ca", default=env("WEFT_KUBE_CA", ""), help="CA of its certificate (WEFT_KUBE_CA)")
    p.add_argument("--kube-token-file", default=env("WEFT_KUBE_TOKEN_FILE", ""),
                   help="token that may create tokenreviews there (WEFT_KUBE_TOKEN_FILE)")
    p.add_argument("--log-level", default=env("WEFT_LOG_LEVEL", "INFO"),
                   choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="(WEFT_LOG_LEVEL)")
    a = p.parse_args(argv)
    missing = [f for f, v in (("--tls-cert", a.tls_cert), ("--tls-key", a.tls_key), ("--ca-dir", a.ca_dir),
                              ("--cluster", a.cluster)) if not v]
    if missing:
        p.error(f"{', '.join(missing)} needed (or WEFT_ISSUER_TLS_CERT, WEFT_ISSUER_TLS_KEY, "
                "WEFT_SENSOR_CA_DIR, WEFT_CLUSTER)")
    namespace, _, name = a.service_account.partition(":")
    if not namespace or not name:
        p.error(f"--service-account: {a.service_account!r} is not namespace:name")
    if not (0 <= a.port < 65536 and 0 <= a.http_port < 65536) or a.days < 1:
        p.error("--port and --http-port must be 0-65535 (0 picks one) and --days at least 1")
    if a.kube_api and not (a.kube_ca and a.kube_token_file):
        p.error("--kube-api needs --kube-ca and --kube-token-file")
    return IssuerConfig(host=a.host, port=a.port, tls_cert=Path(a.tls_cert), tls_key=Path(a.tls_key),
                        ca_dir=Path(a.ca_dir), cluster=a.cluster, service_account=a.service_account,
                        audience=a.audience, days=a.days, log_level=a.log_level,
                        http_host=a.http_host, http_port=a.http_port,
                        kube_api=a.kube_api, kube_ca=a.kube_ca, kube_token_file=a.kube_token_file)
