"""A gRPC peer's sensor identity, from the client certificate mutual TLS verified."""
from __future__ import annotations

import grpc

from weft.common import devca
from weft.discovery.core.identity import Identity

NO_IDENTITY = ("the client certificate names no sensor: it needs one SAN URI "
               f"{devca.SENSOR_PREFIX}<cluster>/<node>")


def identity_of(context: grpc.aio.ServicerContext) -> Identity | None:
    """(cluster, node) from the verified peer certificate; None without one."""
    certs = context.auth_context().get("x509_pem_cert", [])
    return devca.sensor_identity(certs[0]) if len(certs) == 1 else None
