"""discovery's settings: the common ones plus the sensor gateway and ingest."""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from weft.common.config import ServiceConfig, add_common_flags, common_kwargs


@dataclass
class DiscoveryConfig(ServiceConfig):
    service: str = "discovery"
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 0
    tls_cert: str = ""       # with tls_key and tls_ca: mutual TLS for sensors
    tls_key: str = ""
    tls_ca: str = ""
    ingest_token: str = ""
    default_cluster: str = "default"
    max_ingest_bytes: int = 64 * 1024 * 1024


def parse(argv: list[str] | None = None) -> DiscoveryConfig:
    env = os.environ.get
    p = argparse.ArgumentParser(prog="python -m weft.discovery",
                                description="weft discovery (Observe): the sensor gateway, the ingest "
                                "endpoint and the agent inventory.")
    add_common_flags(p)
    p.add_argument("--grpc-host", default=env("WEFT_GRPC_HOST", "127.0.0.1"),
                   help="address sensors dial (WEFT_GRPC_HOST); 0.0.0.0 in a cluster")
    p.add_argument("--grpc-port", type=int, default=int(env("WEFT_GRPC_PORT", "0")),
                   help="port sensors dial; 0 picks one, written to the run file (WEFT_GRPC_PORT)")
    p.add_argument("--tls-cert", default=env("WEFT_GRPC_TLS_CERT", ""), help="server certificate (PEM)")
    p.add_argument("--tls-key", default=env("WEFT_GRPC_TLS_KEY", ""), help="server key (PEM)")
    p.add_argument("--tls-ca", default=env("WEFT_GRPC_TLS_CA", ""),
                   help="CA that signs sensor certificates; set all three for mutual TLS")
    p.add_argument("--default-cluster", default=env("WEFT_DEFAULT_CLUSTER", "default"),
                   help="cluster of ingested events that name none")
    p.add_argument("--max-ingest-bytes", type=int, default=int(env("WEFT_MAX_INGEST_BYTES", str(64 << 20))),
                   help="largest body the ingest endpoint accepts")
    a = p.parse_args(argv)
    tls = [a.tls_cert, a.tls_key, a.tls_ca]
    if any(tls) and not all(tls):
        p.error("--tls-cert, --tls-key and --tls-ca go together (mutual TLS)")
    return DiscoveryConfig(**common_kwargs(a), grpc_host=a.grpc_host, grpc_port=a.grpc_port,
                           tls_cert=a.tls_cert, tls_key=a.tls_key, tls_ca=a.tls_ca,
                           ingest_token=env("WEFT_INGEST_TOKEN", ""), default_cluster=a.default_cluster,
                           max_ingest_bytes=a.max_ingest_bytes)
