"""build_app(config): discovery as one Stage — gateway, ingest, inventory consumers."""
from __future__ import annotations

import asyncio
import hashlib
import logging
from contextlib import AsyncExitStack
from pathlib import Path

import grpc

from weft.common import bus, subjects
from weft.common.runtime import Stage
from weft.discovery import handlers, store
from weft.discovery.config import DiscoveryConfig
from weft.discovery.api import add_observe_routes
from weft.discovery.gateway import Gateway
from weft.discovery.observing import Observing, declared, observer_for
from weft.discovery.recent import RecentBatches
from weft.discovery.sessions import Registry
from weft.discovery.inventory_service import InventoryService
from weft.v1 import inventory_pb2_grpc, sensor_pb2_grpc

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
        self.recent = RecentBatches()
        self.observing = Observing(observer_for(config.fingerprints, config.learning_window,
                                                config.learning_quiet), declared(config.inventory_file))

    def consumers(self) -> list[bus.Consumer]:
        return [
            bus.Consumer(self.js, self.name, "WEFT_EVENTS", subjects.all_of(subjects.EVENTS),
                         handlers.on_events(self.engine, self.observing, self.recent)),
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
                          max_bytes=self.config.max_ingest_bytes, token=self.config.ingest_token,
                          max_webhook_bytes=self.config.max_webhook_bytes)
        add_observe_routes(app, self.observing)

    async def on_start(self, stack: AsyncExitStack) -> None:
        profiles, entries = await asyncio.to_thread(store.load_observe, self.engine)
        self.observing.restore(profiles, entries)
        publisher = asyncio.create_task(publish_observe(self, self.config.publish_interval), name="observe-publisher")
        stack.push_async_callback(_cancel, publisher)
        server = grpc.aio.server(options=[("grpc.max_receive_message_length", GRPC_MAX_MESSAGE),
                                          ("grpc.max_send_message_length", GRPC_MAX_MESSAGE)])
        mtls = bool(self.config.tls_cert)
        sensor_pb2_grpc.add_SensorGatewayServicer_to_server(
            Gateway(self.js, self.sensors, require_identity=mtls, recent=self.recent), server)
        inventory_pb2_grpc.add_InventoryServiceServicer_to_server(
            InventoryService(self.observing, refuse_sensors=mtls), server)
        addr = f"{self.config.grpc_host}:{self.config.grpc_port}"
        self.grpc_port = server.add_secure_port(addr, self._credentials()) if mtls else server.add_insecure_port(addr)
        await server.start()
        stack.push_async_callback(server.stop, 5)
        if mtls:
            log.info("sensor gateway on %s:%d (mutual TLS: identity from certificates)",
                     self.config.grpc_host, self.grpc_port)
        else:
            log.warning("sensor gateway on %s:%d without TLS: a sensor's cluster and node are self-asserted "
                        "(set --tls-cert, --tls-key and --tls-ca, or WEFT_GRPC_TLS_*, for mutual TLS)",
                        self.config.grpc_host, self.grpc_port)

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
                "workloads": len(store.workloads(self.engine)) if self.engine else 0,
                "agents": len(self.observing.profiles())}


async def publish_observe(stage: Discovery, interval: float) -> None:
    """What Observe learnt, stored and published when it changed; a failure is retried next round."""
    while not stage.stop_event.is_set():
        try:
            await asyncio.wait_for(stage.stop_event.wait(), interval)
        except asyncio.TimeoutError:
            pass
        try:
            inventory, profiles = await asyncio.to_thread(stage.observing.changes)
            await asyncio.to_thread(store.save_observe, stage.engine,
                                    list(inventory.entries) if inventory else [], profiles)
            for p in profiles:
                await bus.publish(stage.js, subjects.profiles(p.name), p, msg_id=f"{p.id}-{hash_of(p)}")
            if inventory is not None:
                await bus.publish(stage.js, subjects.INVENTORY, inventory, msg_id=f"inventory-{hash_of(inventory)}")
        except Exception as e:   # NATS down, store busy: the next round ships the then-current state
            stage.observing.forget_published()
            log.warning("observe: publishing failed (%s); retrying", e)


def hash_of(msg) -> str:
    return hashlib.blake2b(msg.SerializeToString(deterministic=True), digest_size=12).hexdigest()


async def _cancel(task: asyncio.Task) -> None:
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


def build_app(config: DiscoveryConfig) -> Discovery:
    return Discovery(config)
