"""A discovery gateway with mutual TLS on a real nats-server, sensors with certificates
from a development CA, and what landed on the bus — for the abuse tests."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import nats

from weft.common import codec, devca, subjects
from weft.discovery.app import Discovery, build_app
from weft.discovery.config import DiscoveryConfig
from weft.discovery.protocol import PROTOCOL_VERSION
from weft.v1 import bus_pb2, event_pb2, sensor_pb2

RECORDED = Path(__file__).resolve().parents[2] / "data" / "recorded-events.jsonl"


@dataclass
class Pki:
    dir: Path
    ca: devca.Issued

    @classmethod
    def create(cls, where: Path) -> "Pki":
        where.mkdir(parents=True, exist_ok=True)
        pki = cls(where, devca.create_ca())
        devca.save(pki.ca, where / "ca.crt", where / "ca.key")
        devca.save(devca.issue_server(pki.ca, ["localhost", "127.0.0.1"]), where / "gateway.crt", where / "gateway.key")
        return pki

    def credentials(self, client: devca.Issued | None) -> grpc.ChannelCredentials:
        if client is None:
            return grpc.ssl_channel_credentials(self.ca.cert_pem())
        return grpc.ssl_channel_credentials(self.ca.cert_pem(), client.key_pem(), client.cert_pem())

    def sensor(self, cluster: str, node: str) -> grpc.ChannelCredentials:
        return self.credentials(devca.issue_sensor(self.ca, cluster, node))


@asynccontextmanager
async def mtls_discovery(nats_url: str, data_dir: Path, pki: Pki):
    """discovery built from its factory, its gateway requiring sensor certificates of `pki`."""
    d = pki.dir
    app: Discovery = build_app(DiscoveryConfig(data_dir=data_dir, nats_url=nats_url, tls_cert=str(d / "gateway.crt"),
                                               tls_key=str(d / "gateway.key"), tls_ca=str(d / "ca.crt")))
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


def hello(cluster: str, node: str, sensor_id: str = "") -> sensor_pb2.Hello:
    return sensor_pb2.Hello(sensor_id=sensor_id or f"{cluster}-{node}", protocol_version=PROTOCOL_VERSION,
                            node=event_pb2.Node(cluster=cluster, name=node))


def events(cluster: str, node: str, first: int, n: int) -> list[event_pb2.RuntimeEvent]:
    """Recorded events re-stamped as `cluster`/`node`'s, with ids of their own."""
    lines = RECORDED.read_text().splitlines()[first:first + n]
    out = []
    for i, line in enumerate(lines):
        ev = codec.event_from_json(line)
        ev.event_id = f"{cluster}-{node}-{first + i}"
        ev.node.cluster, ev.node.name = cluster, node
        out.append(ev)
    return out


async def stored_batches(url: str, min_batches: int, timeout: float = 15.0) -> list[tuple[str, event_pb2.EventBatch]]:
    """(subject, batch) of everything on the events stream, once at least min_batches are."""
    return [(m.subject, codec.decode(event_pb2.EventBatch, m.data))
            for m in await _stream(url, subjects.EVENTS_STREAM, subjects.all_of(subjects.EVENTS),
                                   min_batches, timeout)]


async def dead_letters(url: str, min_count: int, timeout: float = 10.0) -> list[bus_pb2.DeadLetter]:
    return [codec.decode(bus_pb2.DeadLetter, m.data)
            for m in await _stream(url, "WEFT_DEADLETTER", subjects.DEADLETTER, min_count, timeout)]


async def _stream(url: str, stream: str, subject: str, min_count: int, timeout: float) -> list:
    nc = await nats.connect(url)
    js = nc.jetstream()
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        while True:
            count = (await js.stream_info(stream)).state.messages
            if count >= min_count or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.1)
        if not count:
            return []
        sub = await js.subscribe(subject, ordered_consumer=True)
        try:
            return [await sub.next_msg(timeout=5) for _ in range(count)]
        finally:
            await sub.unsubscribe()
    finally:
        await nc.close()
