"""Bus data the stages read, and polling with a deadline (never fixed sleeps)."""
from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import time
from pathlib import Path

from weft.common import bus, codec, subjects
from weft.v1 import alert_pb2, bus_pb2, event_pb2

NODE = event_pb2.Node(cluster="eks", provider=event_pb2.Node.AWS, region="us-east-1", name="node-1")


def make_event(i: int, kind: int = event_pb2.RuntimeEvent.NETWORK_CONNECT, **fields) -> event_pb2.RuntimeEvent:
    ev = event_pb2.RuntimeEvent(event_id=f"ev-{i}", kind=kind, count=1, node=NODE, **fields)
    ev.time.FromSeconds(1_700_000_000 + i)
    ev.network.dst_ip, ev.network.dst_port = "10.0.0.7", 443
    return ev


def make_batch(ids, sensor: str = "sensor-1") -> event_pb2.EventBatch:
    return codec.make_batch([make_event(i) for i in ids], sensor, NODE)


async def publish_batch(js, batch: event_pb2.EventBatch, cluster: str = "eks"):
    return await bus.publish(js, subjects.events(cluster), batch, msg_id=batch.batch_id)


def raw_record(fmt: str = "guardduty", data: bytes = b'{"Id": "f-1"}') -> bus_pb2.RawRecord:
    return bus_pb2.RawRecord(format=fmt, source="test", content_type="application/json", data=data)


DATA = Path(__file__).resolve().parents[2] / "data" / "reference-attack"
PROVIDER = {"guardduty.json": ("guardduty", "aws"), "defender.json": ("defender", "azure"), "scc.json": ("scc", "gcp")}


async def publish_attack(js, providers=tuple(PROVIDER)) -> None:
    """The reference attack as the other stages publish it: identity chains, runtime
    events, then the provider alerts named in `providers` (all three by default)."""
    for chain in json.loads((DATA / "identity-chains.json").read_text()):
        k8s, *clouds = chain["links"]
        ns, sa = k8s["principal"].split(":")[2:4]
        published = {"id": f"ch-{chain['agent']}", "agent": chain["agent"],
                     "subject": {"cluster": k8s.get("cluster", ""), "namespace": ns, "serviceAccount": sa},
                     "links": [{"cloud": x["provider"].lower(), "identity": x["principal"],
                                "aliases": [{"kind": "id", "value": a} for a in x.get("aliases", [])]} for x in clouds]}
        await bus.publish(js, subjects.IDENTITY, bus_pb2.IdentityChain(
            id=published["id"], agent=chain["agent"], chain_json=json.dumps(published)))
    await publish_events(js, DATA / "events")
    await publish_alerts(js, providers)


async def publish_second_attack(js) -> None:
    """Another agent's attack (sales/lead-bot): a second story, on another correlation key."""
    await publish_events(js, DATA / "second-attack" / "events")
    await bus.publish(js, subjects.signals("aws"), bus_pb2.RawRecord(
        format="guardduty", source="second-attack", content_type="application/json",
        data=(DATA / "second-attack" / "guardduty.json").read_bytes()))


async def publish_events(js, directory: Path) -> None:
    for path in sorted(directory.glob("*.jsonl")):
        events = [codec.event_from_json(line) for line in path.read_text().splitlines() if line.strip()]
        batch = codec.make_batch(events, f"test-{path.stem}", node=events[0].node)
        await bus.publish(js, subjects.events(events[0].node.cluster), batch, msg_id=batch.batch_id)


async def publish_alerts(js, providers) -> None:
    for name in providers:
        fmt, provider = PROVIDER[name]
        await bus.publish(js, subjects.signals(provider), bus_pb2.RawRecord(
            format=fmt, source=name, content_type="application/json", data=(DATA / "provider-alerts" / name).read_bytes()))


async def stories_on_bus(js) -> list[alert_pb2.Story]:
    info = await js.stream_info("WEFT_STORIES")
    return [alert_pb2.Story.FromString((await js.get_msg("WEFT_STORIES", seq)).data)
            for seq in range(info.state.first_seq, info.state.last_seq + 1)] if info.state.messages else []


async def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):
    """Poll until `predicate()` (sync or async) is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


async def dead_letters(js) -> list[tuple[int, bus_pb2.DeadLetter]]:
    info = await js.stream_info("WEFT_DEADLETTER")
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        if info.state.messages == 0:
            break
        raw = await js.get_msg("WEFT_DEADLETTER", seq)
        out.append((seq, codec.decode(bus_pb2.DeadLetter, raw.data)))
    return out


@contextlib.asynccontextmanager
async def running(stage):
    await stage.start()
    try:
        yield stage
    finally:
        await stage.stop()
