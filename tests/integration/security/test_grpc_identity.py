"""Sensor identity at the gateway under mutual TLS: a sensor is who its certificate
says. Forgers are refused (PERMISSION_DENIED), logged and counted; honest sensors on
the same gateway keep streaming and lose nothing; programs reach only the node named."""
from __future__ import annotations

import asyncio
import logging

import grpc
import nats
import pytest
from prometheus_client import REGISTRY

from weft.common import codec, devca, subjects
from weft.sensor.uplink import Refused, Uplink
from weft.v1 import event_pb2, inventory_pb2, inventory_pb2_grpc, sensor_pb2, sensor_pb2_grpc

from gateway_kit import Pki, events, hello, mtls_discovery, stored_batches


@pytest.fixture
def pki(tmp_path):
    return Pki.create(tmp_path / "pki")


@pytest.fixture
async def gateway(nats_server, tmp_path, pki):
    async with mtls_discovery(nats_server.url, tmp_path / "weft", pki) as app:
        yield app


def refused(reason: str) -> float:
    return REGISTRY.get_sample_value("weft_gateway_identity_refused_total", {"reason": reason}) or 0.0


async def stream_good(uplink: Uplink, cluster: str, node: str, batches: int, size: int = 10) -> None:
    conn = asyncio.create_task(uplink.run())
    for b in range(batches):
        await uplink.send_events(events(cluster, node, b * size, size))
    assert await uplink.flush(timeout=20), "the honest sensor's batches were not all acknowledged"
    uplink.close()
    await asyncio.wait_for(conn, 10)


async def forged_call(gateway, credentials, batch: bool = True) -> grpc.aio.AioRpcError:
    """A hand-made stream: hello as eks/node-a, then (with batch) a batch claiming aks/node-b.

    Without batch the stream stops after its hello: a gateway refusing at the hello
    would otherwise race the batch's write, and a client whose write fails on a call
    the server has just ended reports INTERNAL instead of the server's status."""
    _, data = codec.encode_batch(events("aks", "node-b", 0, 5), "forger", hello("aks", "node-b").node)

    async def messages():
        yield sensor_pb2.SensorMessage(hello=hello("eks", "node-a", "forger"))
        if batch:
            yield sensor_pb2.SensorMessage(batch=sensor_pb2.BatchUpload(seq=1, batch=data))
        await asyncio.sleep(5)

    async with grpc.aio.secure_channel(gateway.gateway, credentials) as channel:
        call = sensor_pb2_grpc.SensorGatewayStub(channel).Connect(messages())
        with pytest.raises(grpc.aio.AioRpcError) as e:
            async for _ in call:
                pass
    return e.value


@pytest.mark.parametrize("who", ["no client certificate", "another CA's certificate", "plaintext"])
async def test_a_sensor_without_a_trusted_certificate_cannot_send_anything(gateway, pki, nats_server, who):
    if who == "plaintext":
        async with grpc.aio.insecure_channel(gateway.gateway) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as e:
                async for _ in sensor_pb2_grpc.SensorGatewayStub(channel).Connect(
                        iter([sensor_pb2.SensorMessage(hello=hello("eks", "node-a"))])):
                    pass
        error = e.value
    else:
        client = None if who == "no client certificate" else devca.issue_sensor(devca.create_ca(), "eks", "node-a")
        creds = grpc.ssl_channel_credentials(pki.ca.cert_pem(), *((client.key_pem(), client.cert_pem()) if client else ()))
        error = await forged_call(gateway, creds)
    assert error.code() == grpc.StatusCode.UNAVAILABLE    # the TLS handshake fails: no stream at all
    assert await stored_batches(nats_server.url, 1, timeout=1) == []
    assert len(gateway.sensors) == 0


async def test_a_certificate_that_names_no_sensor_is_refused(gateway, pki, caplog):
    before = refused("no_identity")
    not_a_sensor = devca.issue_client(pki.ca, "spiffe://weft/admin/alice")
    error = await forged_call(gateway, pki.credentials(not_a_sensor), batch=False)
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "the client certificate names no sensor" in error.details()
    assert refused("no_identity") == before + 1


async def test_a_refused_sensor_holding_batches_is_told_why_at_once(gateway, pki):
    liar = Uplink(gateway.gateway, hello("aks", "node-b"), credentials=pki.sensor("eks", "node-a"))
    for b in range(5):
        await liar.send_events(events("aks", "node-b", b * 10, 10))
    with pytest.raises(Refused, match="hello claims cluster 'aks' node 'node-b'"):
        await asyncio.wait_for(liar.run(), 10)
    assert liar.stats["reconnects"] == 0


async def test_a_forger_is_refused_and_logged_while_an_honest_sensor_loses_nothing(gateway, pki, nats_server, caplog):
    caplog.set_level(logging.WARNING, logger="weft.discovery.gateway")
    hellos, batches = refused("hello"), refused("batch")
    honest = Uplink(gateway.gateway, hello("gke", "node-c"), credentials=pki.sensor("gke", "node-c"))
    streaming = asyncio.create_task(stream_good(honest, "gke", "node-c", batches=20))

    # Cert eks/node-a, hello claiming aks/node-b: refused at the hello.
    liar = Uplink(gateway.gateway, hello("aks", "node-b"), credentials=pki.sensor("eks", "node-a"))
    with pytest.raises(Refused, match="hello claims cluster 'aks' node 'node-b', but the client "
                                      "certificate is for cluster 'eks' node 'node-a'"):
        await asyncio.wait_for(liar.run(), 10)

    # Cert eks/node-a, an honest hello, then events claiming aks/node-b: refused at the batch.
    smuggler = Uplink(gateway.gateway, hello("eks", "node-a"), credentials=pki.sensor("eks", "node-a"))
    await smuggler.send_events(events("aks", "node-b", 0, 5))
    with pytest.raises(Refused, match="event 'aks-node-b-0' claims cluster 'aks' node 'node-b'"):
        await asyncio.wait_for(smuggler.run(), 10)

    # The raw protocol, by hand: the same refusal.
    error = await forged_call(gateway, pki.sensor("eks", "node-a"))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED

    await asyncio.wait_for(streaming, 30)
    assert honest.stats["acked"] == 20 and honest.stats["deadlettered"] == 0
    stored = await stored_batches(nats_server.url, 20)
    assert {s for s, _ in stored} == {subjects.events("gke")}
    assert sorted(e.event_id for _, b in stored for e in b.events) == sorted(
        f"gke-node-c-{i}" for i in range(200))
    assert refused("hello") == hellos + 1 and refused("batch") == batches + 2
    logged = [r.getMessage() for r in caplog.records if "refused sensor" in r.getMessage()]
    assert any("refused sensor 'aks-node-b' from ipv4:127.0.0.1" in m and "hello claims cluster 'aks'" in m
               for m in logged)
    assert any("event 'aks-node-b-0' claims cluster 'aks'" in m for m in logged)
    assert not any("BEGIN" in m for m in logged)   # no certificate or key material in logs


async def test_programs_reach_only_the_sensor_whose_certificate_names_the_node(gateway, pki, nats_server):
    got: dict[str, list[str]] = {"node-a": [], "node-b": []}

    def receiver(node):
        return lambda program: got[node].append(program.program_id)

    sensors = {node: Uplink(gateway.gateway, hello("eks", node), credentials=pki.sensor("eks", node),
                            on_program=receiver(node)) for node in got}
    # A sensor holding node-b's certificate that claims node-a's identity never connects.
    impostor = Uplink(gateway.gateway, hello("eks", "node-a", "eks-node-b"), credentials=pki.sensor("eks", "node-b"))
    with pytest.raises(Refused):
        await asyncio.wait_for(impostor.run(), 10)
    running = [asyncio.create_task(u.run()) for u in sensors.values()]
    try:
        for u in sensors.values():
            await asyncio.wait_for(u.connected.wait(), 10)
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        program = sensor_pb2.EnforcementProgram(program_id="p-a", policy="egress", mode="enforce", spec=b"{}")
        await js.publish(subjects.enforce("eks", "node-a"), program.SerializeToString())
        await nc.close()
        for _ in range(100):
            if got["node-a"]:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        assert got == {"node-a": ["p-a"], "node-b": []}
        assert sorted(s["node"] for s in gateway.sensors.view() if s["verified"]) == ["node-a", "node-b"]
    finally:
        for u in sensors.values():
            u.close()
        for t in running:
            t.cancel()
        await asyncio.gather(*running, return_exceptions=True)


async def test_one_sensor_cannot_pre_empt_another_sensors_batch_ids(gateway, pki, nats_server):
    """JetStream de-duplicates by message id: under mutual TLS the id is scoped to the
    certificate's sensor, so a batch id sent first by another node stores nothing of it."""
    def batch(node: str, first: int) -> bytes:
        return event_pb2.EventBatch(batch_id="same-id", node=hello("eks", node).node,
                                    events=events("eks", node, first, 3)).SerializeToString()

    for node, first in (("node-b", 0), ("node-a", 3)):
        uplink = Uplink(gateway.gateway, hello("eks", node), credentials=pki.sensor("eks", node))
        conn = asyncio.create_task(uplink.run())
        await uplink._hold(lambda seq, d=batch(node, first): sensor_pb2.SensorMessage(
            batch=sensor_pb2.BatchUpload(seq=seq, batch=d)), 3)
        assert await uplink.flush(timeout=10)
        uplink.close()
        await asyncio.wait_for(conn, 10)
    stored = await stored_batches(nats_server.url, 2)
    assert sorted(e.event_id for _, b in stored for e in b.events) == sorted(
        [f"eks-node-b-{i}" for i in range(3)] + [f"eks-node-a-{i}" for i in range(3, 6)])


async def test_a_sensor_certificate_does_not_open_the_inventory_a_readers_does(gateway, pki):
    """The inventory of every cluster shares the sensors' port: a node's certificate (one
    an attacker who owns the node holds) is refused there; a reader's, naming no sensor, is not."""
    async def list_agents(client: devca.Issued):
        async with grpc.aio.secure_channel(gateway.gateway, pki.credentials(client)) as channel:
            return await inventory_pb2_grpc.InventoryServiceStub(channel).ListAgents(inventory_pb2.ListAgentsRequest())

    for call in ("ListAgents", "GetProfile", "GetGraph"):
        async with grpc.aio.secure_channel(gateway.gateway, pki.sensor("eks", "node-a")) as channel:
            stub = inventory_pb2_grpc.InventoryServiceStub(channel)
            request = {"ListAgents": inventory_pb2.ListAgentsRequest(), "GetProfile": inventory_pb2.AgentRequest(ref="x"),
                       "GetGraph": inventory_pb2.GraphRequest(format="json")}[call]
            with pytest.raises(grpc.aio.AioRpcError) as e:
                await getattr(stub, call)(request)
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED, call
        assert "sensor gateway only" in e.value.details()
    listed = await list_agents(devca.issue_client(pki.ca, "spiffe://weft/reader/soc"))
    assert list(listed.entries) == []
