"""discovery's settings: the common ones plus the sensor gateway and ingest."""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field

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
    max_webhook_bytes: int = 10 * 1024 * 1024
    fingerprints: list[str] = field(default_factory=list)   # extra catalogue dirs or files
    learning_window: str = "24h"       # event time from an agent's first event to ready
    learning_quiet: str = ""           # ready sooner after this long without new behaviour
    inventory_file: str = ""           # declared agents (shadow AI is what is not in it)
    publish_interval: float = 2.0      # seconds between inventory/profile publications


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
    p.add_argument("--max-webhook-bytes", type=int, default=int(env("WEFT_MAX_WEBHOOK_BYTES", str(10 << 20))),
                   help="largest body a provider webhook may post (WEFT_MAX_WEBHOOK_BYTES)")
    p.add_argument("--fingerprints", action="append", default=[x for x in env("WEFT_FINGERPRINTS", "").split(os.pathsep) if x],
                   help="extra fingerprint YAML directory or file (repeatable; WEFT_FINGERPRINTS, ':'-separated)")
    p.add_argument("--learning-window", default=env("WEFT_LEARNING_WINDOW", "24h"),
                   help="event time from an agent's first event until its profile is ready (WEFT_LEARNING_WINDOW)")
    p.add_argument("--learning-quiet", default=env("WEFT_LEARNING_QUIET", ""),
                   help="ready sooner after this long with no new behaviour (WEFT_LEARNING_QUIET)")
    p.add_argument("--inventory-file", default=env("WEFT_INVENTORY_FILE", ""),
                   help="YAML of declared agents; agents found and not declared are shadow AI (WEFT_INVENTORY_FILE)")
    a = p.parse_args(argv)
    from weft.common import durations
    for flag, value in (("--learning-window", a.learning_window), ("--learning-quiet", a.learning_quiet)):
        if value and not durations.is_duration(value):
            p.error(f"{flag}: {value!r} is not {durations.HELP}")
    tls = [a.tls_cert, a.tls_key, a.tls_ca]
    if any(tls) and not all(tls):
        p.error("--tls-cert, --tls-key and --tls-ca go together (mutual TLS)")
    return DiscoveryConfig(**common_kwargs(a), grpc_host=a.grpc_host, grpc_port=a.grpc_port,
                           tls_cert=a.tls_cert, tls_key=a.tls_key, tls_ca=a.tls_ca,
                           ingest_token=env("WEFT_INGEST_TOKEN", ""), default_cluster=a.default_cluster,
                           max_ingest_bytes=a.max_ingest_bytes, max_webhook_bytes=a.max_webhook_bytes,
                           fingerprints=a.fingerprints,
                           learning_window=a.learning_window, learning_quiet=a.learning_quiet,
                           inventory_file=a.inventory_file)
