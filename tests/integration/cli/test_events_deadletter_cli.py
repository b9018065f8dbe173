"""`weft events` and `weft deadletter` against a real JetStream: exports give back
exactly what was published; dead letters are listed, shown and replayed faithfully."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

from weft.common import bus, codec, subjects
from weft.v1 import bus_pb2, event_pb2

E = event_pb2.RuntimeEvent


def node(cluster: str) -> event_pb2.Node:
    return event_pb2.Node(cluster=cluster, provider=event_pb2.Node.AWS, region="r1", name=f"{cluster}-node")


def event(i: int, cluster: str, kind: int, **payload) -> event_pb2.RuntimeEvent:
    ev = E(event_id=f"{cluster}-{i}", kind=kind, count=1 + i % 2, node=node(cluster),
           workload=event_pb2.Workload(namespace="agents", pod=f"agent-{i}", service_account="agent-sa"),
           process=event_pb2.Process(pid=100 + i, comm="python", exe="/usr/bin/python3"), **payload)
    ev.time.FromNanoseconds(1_750_000_000_123_456_789 + i * 1_000_000)
    return ev


BATCHES = {
    "eks": codec.make_batch([
        event(1, "eks", E.MCP_CALL, mcp=event_pb2.Mcp(server="records", method="tools/call", tool="read_records")),
        event(2, "eks", E.NETWORK_CONNECT, network=event_pb2.Network(dst_ip="10.1.2.3", dst_port=443)),
        event(3, "eks", E.LLM_REQUEST, llm=event_pb2.Llm(provider="openai", model="gpt-x", host="model"))],
        "sensor-eks", node("eks")),
    "aks": codec.make_batch([
        event(4, "aks", E.DNS_QUERY, dns=event_pb2.Dns(query="sink.example", answers=["203.0.113.9"]))],
        "sensor-aks", node("aks")),
}


async def publish_all(js) -> None:
    for cluster, batch in BATCHES.items():
        await bus.publish(js, subjects.events(cluster), batch, msg_id=batch.batch_id)
    await js.publish(subjects.events("eks"), b"\x00not a batch")  # skipped, not exported


async def test_export_gives_back_exactly_the_published_events(js, weft, tmp_path):
    await publish_all(js)
    out = tmp_path / "events.jsonl"
    rc, _, err = await weft("events", "export", "--since", "10m", "-o", str(out))
    assert rc == 0, err
    expected = [ev for b in BATCHES.values() for ev in b.events]
    lines = out.read_text().splitlines()
    assert lines == [codec.event_to_json(ev) for ev in expected]
    assert [codec.event_from_json(line) for line in lines] == expected  # ids, times to the ns, fields
    assert "exported 4 events from 2 batches" in err and "skipped 1" in err

    rc, stdout, _ = await weft("events", "export", "--cluster", "aks")
    assert rc == 0 and stdout.splitlines() == [codec.event_to_json(BATCHES["aks"].events[0])]
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    rc, stdout, err = await weft("events", "export", "--since", future)
    assert (rc, stdout) == (0, "") and "exported 0 events" in err


async def test_tail_prints_live_events_one_readable_line_each(js, weft_spawn):
    proc = await weft_spawn("events", "tail", "--cluster", "eks", "--kind", "mcp_call", "-n", "1")
    try:
        ready = await asyncio.wait_for(proc.stderr.readline(), 15)
        assert ready.startswith(b"tailing weft.events.v1.eks"), ready
        await publish_all(js)
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
    assert line.startswith("2025-06-15T15:06:40.124Z eks/eks-node MCP_CALL")
    assert "agents/agent-1 python[101] records tools/call read_records x2" in line


async def dead_letter_seqs(js) -> list[int]:
    state = (await js.stream_info("WEFT_DEADLETTER")).state
    return list(range(state.first_seq, state.last_seq + 1)) if state.messages else []


async def test_deadletter_list_show_and_replay(js, weft):
    batch = BATCHES["eks"].SerializeToString()
    await bus.dead_letter(js, "detect refused it", "detect consumer=detect-WEFT_EVENTS", batch,
                          subject=subjects.events("eks"),
                          headers={codec.H_MSG_ID: "orig-1", codec.H_TYPE: "weft.v1.EventBatch", "x-test": "kept"})
    await bus.dead_letter(js, "unrecognised format", "discovery ingest upload.json:3", b"\x01\x02" + b"x" * 500)
    from_bus, from_file = await dead_letter_seqs(js)

    rc, out, err = await weft("deadletter", "list", "--json")
    assert rc == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["seq"], r["subject"], r["reason"]) for r in rows] == [
        (from_bus, "weft.events.v1.eks", "detect refused it"), (from_file, "", "unrecognised format")]
    assert rows[1]["origin"] == "discovery ingest upload.json:3" and rows[1]["payload_bytes"] == 502
    assert all(len(r["payload_excerpt"]) <= 120 and r["payload_excerpt"].isprintable() for r in rows)
    rc, out, _ = await weft("deadletter", "list", "--limit", "1")
    assert rc == 0 and f"#{from_file} " in out and f"#{from_bus} " not in out and "unrecognised format" in out

    rc, out, _ = await weft("deadletter", "show", str(from_bus))
    assert rc == 0 and "x-test: kept" in out and "detect refused it" in out

    rc, out, err = await weft("deadletter", "replay", str(from_bus))
    assert rc == 0, err
    replayed = await js.get_last_msg("WEFT_EVENTS", subjects.events("eks"))
    assert replayed.data == batch
    assert replayed.headers[codec.H_MSG_ID] == f"replay-{from_bus}"
    assert replayed.headers["x-test"] == "kept" and replayed.headers[codec.H_TYPE] == "weft.v1.EventBatch"

    rc, out, err = await weft("deadletter", "replay", str(from_file))
    assert rc == 1 and f"#{from_file} has no original subject" in err and "Traceback" not in err
    rc, out, err = await weft("deadletter", "replay", "--all")
    assert rc == 1 and "already replayed" in out and "no original subject" in err
    assert (await js.stream_info("WEFT_EVENTS")).state.messages == 1  # the duplicate was not stored

    rc, _, err = await weft("deadletter", "show", "999")
    assert rc == 1 and err.strip() == "weft deadletter: no dead letter #999"


async def test_an_unreachable_weft_is_one_line_not_a_traceback(weft_env, tmp_path, weft):
    from weft.cli import endpoint
    from weft.common import natsserver
    endpoint.write(endpoint.Endpoint(nats_url=f"nats://127.0.0.1:{natsserver.free_port()}"),
                   tmp_path / "run" / "weft.json")
    rc, _, err = await weft("deadletter", "list")
    assert rc == 1 and err.startswith("weft deadletter: cannot reach NATS at") and len(err.splitlines()) == 1
