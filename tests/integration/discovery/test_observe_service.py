"""discovery's Observe on a real nats-server: events in, one agent across clusters out
(API, weft.inventory.v1, weft.profiles.v1.<agent>), kept across a restart, new
behaviour accepted into a ready profile; `weft analyze` gives the same inventory."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import grpc
import nats
import pytest

from cyclonedx_schema import errors, validator
from weft.cli.offline import Options, analyze
from weft.common import bus, codec, subjects
from weft.discovery.app import build_app
from weft.discovery.config import DiscoveryConfig
from weft.v1 import event_pb2, inventory_pb2, inventory_pb2_grpc

T0 = 1_780_000_000
PROVIDERS = {"eks": "AWS", "aks": "AZURE", "gke": "GCP"}


def event(cluster: str, t: int, kind: str, payload: dict, workload=("agents", "support-bot")) -> dict:
    ns, name = workload
    return {"eventId": f"{cluster}-{t}-{kind}-{hash(json.dumps(payload, sort_keys=True)) & 0xffff}",
            "time": f"2026-06-01T00:00:{t % 60:02d}Z".replace("00:00:", f"00:{(t // 60) % 60:02d}:"),
            "kind": kind, "count": 1,
            "node": {"cluster": cluster, "provider": PROVIDERS[cluster], "name": f"{cluster}-node"},
            "workload": {"namespace": ns, "name": name, "kind": "Deployment", "pod": f"{name}-{cluster}",
                         "container": name, "containerId": f"containerd://{cluster}-{name}",
                         "serviceAccount": name},
            "process": {"pid": 10, "exe": "/usr/bin/python3", "args": ["python3", "bot.py"]}, **payload}


def agent_events() -> list[dict]:
    out = []
    for i, cluster in enumerate(("eks", "aks")):
        out += [
            event(cluster, 1 + i, "FILE_OPEN", {"file": {"path": "/app/.venv/lib/python3.11/site-packages/openai/__init__.py", "flags": ["O_RDONLY"]}}),
            event(cluster, 3 + i, "LLM_REQUEST", {"llm": {"provider": "openai", "host": "api.openai.com", "model": "gpt-4o", "path": "/v1/chat/completions"}}),
            event(cluster, 5 + i, "MCP_CALL", {"mcp": {"transport": "streamable-http", "server": "orders-mcp.tools.svc.aks.lab:8080/mcp",
                                                      "method": "tools/call", "tool": "lookup_order", "requestId": "1", "sessionId": "s1", "side": "client"}}),
        ]
    out.append(event("gke", 7, "PROCESS_EXEC", {}, workload=("web", "frontend")))
    return out


async def publish(js, events: list[dict]) -> None:
    by_cluster: dict[str, list] = {}
    for e in events:
        by_cluster.setdefault(e["node"]["cluster"], []).append(codec.event_from_json(json.dumps(e)))
    for cluster, evs in by_cluster.items():
        batch = codec.make_batch(evs, f"test-{cluster}", node=evs[0].node)
        await bus.publish(js, subjects.events(cluster), batch, msg_id=batch.batch_id)


async def get(port: int, path: str, method: str = "GET", body=None):
    async with aiohttp.ClientSession() as s, s.request(method, f"http://127.0.0.1:{port}{path}", json=body) as r:
        return r.status, await r.json()


async def until(predicate, timeout: float = 15.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.2)


@pytest.fixture
def config(nats_server, tmp_path):
    return lambda: DiscoveryConfig(data_dir=tmp_path / "weft", nats_url=nats_server.url, learning_window="60s",
                                   publish_interval=0.3)


async def test_one_agent_across_clusters_published_kept_and_accepted(config, nats_server, tmp_path):
    stage = build_app(config())
    await stage.start()
    try:
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        await publish(js, agent_events())

        async def one_agent():
            status, body = await get(stage.http_port, "/v1/agents")
            agents = [a for a in body["agents"] if a["kind"] == "agent"]
            return agents if agents and agents[0]["clusters"] == ["aks", "eks"] else None
        (agent,) = await until(one_agent)
        assert agent["name"] == "agents/support-bot" and agent["shadow"]   # no declared inventory

        profile_msgs = await js.subscribe(subjects.all_of(subjects.PROFILES), ordered_consumer=True)
        profile = inventory_pb2.AgentProfile.FromString((await profile_msgs.next_msg(timeout=10)).data)
        assert profile.name == "agents/support-bot" and sorted(profile.clusters) == ["aks", "eks"]
        doc = json.loads(profile.document_json)
        assert {m["model"] for m in doc["models"]} == {"gpt-4o"}
        inventory_msg = await js.subscribe(subjects.INVENTORY, ordered_consumer=True)
        published = inventory_pb2.Inventory.FromString((await inventory_msg.next_msg(timeout=10)).data)
        assert "agents/support-bot" in {e.name for e in published.entries}

        # Short names resolve; an unknown one gets the known names back.
        status, found = await get(stage.http_port, "/v1/agents/support-bot")
        assert status == 200 and found["profile"]["status"] == "learning"
        status, missing = await get(stage.http_port, "/v1/agents/nobody")
        assert status == 404 and "agents/support-bot" in missing["error"]

        # The same over gRPC, on the gateway's port.
        async with grpc.aio.insecure_channel(stage.gateway) as channel:
            rpc = inventory_pb2_grpc.InventoryServiceStub(channel)
            listed = await rpc.ListAgents(inventory_pb2.ListAgentsRequest(kind="agent"))
            assert [e.name for e in listed.entries] == ["agents/support-bot"]
            got = await rpc.GetProfile(inventory_pb2.AgentRequest(ref="support-bot"))
            assert got.name == "agents/support-bot" and json.loads(got.document_json)["models"]
            with pytest.raises(grpc.aio.AioRpcError) as missing_rpc:
                await rpc.GetProfile(inventory_pb2.AgentRequest(ref="nobody"))
            assert missing_rpc.value.code() == grpc.StatusCode.NOT_FOUND
            dot = await rpc.GetGraph(inventory_pb2.GraphRequest(format="dot"))
            assert dot.text.startswith("digraph")

        # The graph and the AI-BOM over HTTP.
        status, graph = await get(stage.http_port, "/v1/graph")
        assert status == 200 and "agents/support-bot" in {n["name"] for n in graph["nodes"]}
        status, bom = await get(stage.http_port, "/v1/aibom?agent=support-bot")
        assert status == 200 and bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6"
        assert errors(validator(), bom) == []
        await nc.close()
    finally:
        await stage.stop()

    restarted = build_app(config())
    await restarted.start()
    try:
        status, body = await get(restarted.http_port, "/v1/agents")
        assert "agents/support-bot" in {a["name"] for a in body["agents"]}, "the inventory survives a restart"
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        later = [event("eks", 120, "LLM_REQUEST", {"llm": {"provider": "anthropic", "host": "api.anthropic.com",
                                                            "model": "claude-3", "path": "/v1/messages"}})]
        await publish(js, later)
        await nc.close()

        async def deviation():
            _, found = await get(restarted.http_port, "/v1/agents/support-bot")
            p = found["profile"]
            return p if p and p["status"] == "ready" and p["deviations"] else None
        profile = await until(deviation)
        assert profile, "a ready profile reports new behaviour instead of growing"
        assert [d["model"] for d in profile["deviations"]] == ["claude-3"]
        status, accepted = await get(restarted.http_port, "/v1/agents/support-bot/accept", "POST",
                                     {"selectors": ["model"]})
        assert status == 200 and accepted["profile"]["deviations"] == []
        assert "claude-3" in {m["model"] for m in accepted["profile"]["models"]}
    finally:
        await restarted.stop()


async def test_analyze_offline_gives_the_live_inventory(config, tmp_path):
    events_file = tmp_path / "events.jsonl"
    events_file.write_text("\n".join(json.dumps(e) for e in agent_events()) + "\n")
    offline = analyze([events_file], Options(learning_window="60s"))
    assert offline.problems == []
    stage = build_app(config())
    await stage.start()
    try:
        nc = await nats.connect(config().nats_url)
        await publish(nc.jetstream(), agent_events())
        await nc.close()

        async def settled():   # every batch folded in: the inventory stops changing
            _, body = await get(stage.http_port, "/v1/agents")
            return body["agents"] if body["agents"] == offline.inventory else None
        live = await until(settled)
        assert live == offline.inventory, f"live {live} != offline {offline.inventory}"
        assert [a["name"] for a in live if a["kind"] == "agent"] == ["agents/support-bot"]
    finally:
        await stage.stop()
