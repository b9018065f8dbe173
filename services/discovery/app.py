"""build_app(config): discovery as one Stage — gateway, ingest, inventory consumers."""
from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from pathlib import Path

import grpc

from weft.common import bus, subjects
from weft.common.runtime import Stage
from weft.discovery import handlers, store
from weft.discovery.config import DiscoveryConfig
from weft.discovery.gateway import Gateway
from weft.discovery.sessions import Registry
from weft.v1 import sensor_pb2_grpc

log = logging.getLogger(__name__)
GRPC_MAX_MESSAGE = 16 * 1024 * 1024


class Discovery(Stage):
    name = "discovery"
    migrations = Path(__file__).parent / "migrations"

    def __init__(self, config: DiscoveryConfig):
        super().__init__(config)
        self.config: DiscoveryConfig = config
        self.sensors = Registry()
        self.grpc_port = 0

    def consumers(self) -> list[bus.Consumer]:
        return [
            bus.Consumer(self.js, self.name, "WEFT_EVENTS", subjects.all_of(subjects.EVENTS),
                         handlers.on_events(self.engine)),
            bus.Consumer(self.js, self.name, "WEFT_ENFORCE", subjects.all_of(subjects.ENFORCE),
                         handlers.on_enforcement(self.sensors), max_deliver=20),
        ]

    def routes(self, app) -> None:
        try:
            from weft.discovery.ingest import add_ingest_routes
        except ImportError:
            log.warning("ingest endpoint not available in this build")
            return
        add_ingest_routes(app, self.js, default_cluster=self.config.default_cluster,
                          max_bytes=self.config.max_ingest_bytes, token=self.config.ingest_token)

    async def on_start(self, stack: AsyncExitStack) -> None:
        server = grpc.aio.server(options=[("grpc.max_receive_message_length", GRPC_MAX_MESSAGE),
                                          ("grpc.max_send_message_length", GRPC_MAX_MESSAGE)])
        sensor_pb2_grpc.add_SensorGatewayServicer_to_server(Gateway(self.js, self.sensors), server)
        addr = f"{self.config.grpc_host}:{self.config.grpc_port}"
        self.grpc_port = (server.add_secure_port(addr, self._credentials()) if self.config.tls_cert
                          else server.add_insecure_port(addr))
        await server.start()
        stack.push_async_callback(server.stop, 5)
        log.info("sensor gateway on %s:%d%s", self.config.grpc_host, self.grpc_port,
                 " (mutual TLS)" if self.config.tls_cert else "")

    def _credentials(self) -> grpc.ServerCredentials:
        read = lambda p: Path(p).read_bytes()
        return grpc.ssl_server_credentials([(read(self.config.tls_key), read(self.config.tls_cert))],
                                           root_certificates=read(self.config.tls_ca),
                                           require_client_auth=True)

    def write_run_file(self, **extra) -> None:
        super().write_run_file(grpc=f"{self.config.grpc_host}:{self.grpc_port}", **extra)

    @property
    def gateway(self) -> str:
        return f"{self.config.grpc_host}:{self.grpc_port}"

    def status(self) -> dict:
        return {"gateway": self.gateway, "sensors": self.sensors.view(),
                "workloads": len(store.workloads(self.engine)) if self.engine else 0}


def build_app(config: DiscoveryConfig) -> Discovery:
    return Discovery(config)
