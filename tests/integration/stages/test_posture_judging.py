"""posture as a service on a real nats-server: the lab agent's declarations, audit logs
and profile arrive on the bus; its identity chain goes out on weft.identity.v1, its
findings on weft.findings.v1, and the API answers with them; a restart keeps them."""
from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from stagekit import running, wait_for
from weft.common import bus, subjects
from weft.discovery.core.recognise import recognise
from weft.v1 import bus_pb2, inventory_pb2

LAB = Path(__file__).resolve().parents[2] / "unit" / "posture" / "data" / "lab"


async def publish_lab(js) -> None:
    for path in sorted(LAB.rglob("*")):
        if not path.is_file() or path.suffix not in (".json", ".jsonl", ".yaml", ".yml"):
            continue
        if "profiles" in path.parts:
            doc = json.loads(path.read_text())
            await bus.publish(js, subjects.profiles(doc["agent"]), inventory_pb2.AgentProfile(
                id=doc["id"], name=doc["agent"], status=doc["status"], document_json=json.dumps(doc)))
            continue
        if "gaps" in path.parts:
            continue
        for r in recognise(path.read_bytes(), path.name).records:
            if r.kind in ("declaration", "audit"):
                await bus.publish(js, r.subject, bus_pb2.RawRecord(format=r.format, source=r.location,
                                                                   content_type=r.content_type, data=r.data))


async def stream(js, name: str, cls):
    info = await js.stream_info(name)
    return [cls.FromString((await js.get_msg(name, seq)).data)
            for seq in range(info.state.first_seq, info.state.last_seq + 1)] if info.state.messages else []


async def test_chains_and_findings_are_published_and_served(build_stage, nats_client):
    stage = build_stage("posture", judge_interval=0.3)
    js = nats_client.jetstream()
    async with running(stage):
        await publish_lab(js)
        async with aiohttp.ClientSession() as http:
            async def judged():   # every input in: unused permissions are among the findings
                async with http.get(f"http://127.0.0.1:{stage.http_port}/v1/findings") as r:
                    found = (await r.json())["findings"]
                return found if {"unused_permissions", "chain_reach"} <= {f["kind"] for f in found} else None
            served_findings = await wait_for(judged, timeout=30, what="findings on every input")
            async with http.get(f"http://127.0.0.1:{stage.http_port}/v1/identity?agent=support-bot") as r:
                served = await r.json()
        async def all_published():   # published right after each judgement
            found = await stream(js, "WEFT_FINDINGS", bus_pb2.PostureFinding)
            return found if {f["id"] for f in served_findings} <= {f.id for f in found} else None
        findings = await wait_for(all_published, timeout=30, what="every finding served on weft.findings.v1")
        chains = await stream(js, "WEFT_IDENTITY", bus_pb2.IdentityChain)
    chain = json.loads([c for c in chains if c.agent == "agents/support-bot"][-1].chain_json)
    providers = {link["cloud"] for link in chain["links"]}
    assert {"AWS", "AZURE", "GCP"} <= {p.upper() for p in providers}, providers
    assert chain["id"] in [c["id"] for c in served["chains"]]
