"""Observe in the lab: the reference agent runs as replicas in `eks` and `aks`, its
MCP tools in `aks` (orders) and `gke` (storage), its model in `gke`. weft finds one
agent with one profile spanning both clusters, its model, both MCP servers and every
tool by name; a graph whose cross-provider edges are exactly the real ones; a
schema-valid AI-BOM; and `weft analyze` over the same events gives the same inventory."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cyclonedx_schema import errors, validator
from lab_support import lab_exec, wait_for, weft, why_not
from weft.lab.workloads.certs import self_signed

pytestmark = [pytest.mark.skipif(bool(why_not()), reason=why_not() or "-"), pytest.mark.ebpf,
              pytest.mark.slow, pytest.mark.timeout(360)]

MODEL, ORDERS, STORAGE = "llm.models.svc.gke.lab", "orders-mcp.tools.svc.aks.lab", "storage-mcp.tools.svc.gke.lab"


@pytest.fixture
def fleet(lab_with_sensors, tmp_path):
    env = lab_with_sensors
    cert, key = self_signed(tmp_path / "certs", [MODEL])
    py = sys.executable
    servers = [
        lab_exec(env, "gke", "models/llm", py, "-m", "weft.lab.workloads.model_server", "--port", "8443",
                 "--cert", str(cert), "--key", str(key)),
        lab_exec(env, "aks", "tools/orders-mcp", py, "-m", "weft.lab.workloads.orders_mcp", "--http", "8080",
                 stderr=subprocess.DEVNULL),
        lab_exec(env, "gke", "tools/storage-mcp", py, "-m", "weft.lab.workloads.storage_mcp", "--http", "8080",
                 "--root", str(tmp_path / "buckets"), stderr=subprocess.DEVNULL)]
    try:
        yield env, cert
    finally:
        for p in servers:
            p.terminate()
            p.wait(timeout=20)


def run_agent(env, cluster: str, cert: Path) -> None:
    agent = ("import subprocess, sys, time\n"   # the servers may still be starting across the lab
             "for _ in range(100):\n"
             "    r = subprocess.run([sys.executable, '-m', 'weft.lab.workloads.agent', '--model-url', "
             f"'https://{MODEL}:8443/v1', '--ca', {str(cert)!r}, '--model', 'lab-gpt', '--mcp-stdio', "
             f"'--mcp-http', 'http://{ORDERS}:8080/mcp', '--mcp-http', 'http://{STORAGE}:8080/mcp', "
             "'--bucket', 'summaries'], capture_output=True, text=True)\n"
             "    if r.returncode == 0: print(r.stdout); break\n"
             "    time.sleep(0.3)\n"
             "else: sys.exit(r.stderr)\n")
    out = weft({**env, "OPENAI_API_KEY": "sk-lab-observe-0000000000000000"}, "lab", "exec", cluster,
               "--workload", "agents/support-bot", "--", sys.executable, "-c", agent, timeout=120).stdout
    assert "order 1000: shipped" in out and "stored" in out, out


def agents(env) -> dict[str, dict]:
    return {a["name"]: a for a in json.loads(weft(env, "agents", "--json").stdout)}


def test_one_agent_across_clusters_its_graph_and_its_aibom(fleet, tmp_path):
    env, cert = fleet
    for cluster in ("eks", "aks"):
        run_agent(env, cluster, cert)

    def found():
        a = agents(env)
        bot = a.get("agents/support-bot")
        ready = bot and bot["clusters"] == ["aks", "eks"] and {"tools/orders-mcp", "tools/storage-mcp"} <= set(a)
        return a if ready else None
    inventory = wait_for(found, 60, "the agent in eks and aks and both MCP servers")
    assert inventory["agents/support-bot"]["kind"] == "agent"
    assert inventory["tools/orders-mcp"]["kind"] == inventory["tools/storage-mcp"]["kind"] == "mcp-server"
    assert inventory["models/llm"]["kind"] == "inference-server"

    profile = json.loads(weft(env, "agent", "support-bot", "--json").stdout)["profile"]
    assert profile["clusters"] == ["aks", "eks"]
    assert {m["model"] for m in profile["models"]} == {"lab-gpt"}
    assert {"connect", "openat", "read"} <= {s["name"] for s in profile["syscalls"]}, "learnt in the kernel"
    tools = {(m.get("server"), m.get("tool")) for m in profile["mcp"]}
    assert {t for _, t in tools} >= {"lookup_order", "put_object"}
    servers = {s for s, _ in tools}
    assert {f"{ORDERS}:8080/mcp", f"{STORAGE}:8080/mcp", "weft.lab.workloads.orders_mcp"} <= servers

    kubescape = list(yaml.safe_load_all(weft(env, "profile", "show", "support-bot", "--format", "kubescape").stdout))
    assert {d["kind"] for d in kubescape} == {"ApplicationProfile", "NetworkNeighborhood"}

    graph = json.loads(weft(env, "graph").stdout)
    nodes = {n["id"]: n for n in graph["nodes"]}
    named = lambda n: (n["name"], n["cluster"])
    crossing = {(named(nodes[e["from"]]), named(nodes[e["to"]])) for e in graph["edges"] if e["crossProvider"]}
    calls = {(named(nodes[e["from"]]), named(nodes[e["to"]])) for e in graph["edges"]}
    bot = lambda c: ("agents/support-bot", c)
    real_crossings = {(bot("eks"), ("tools/orders-mcp", "aks")), (bot("eks"), ("tools/storage-mcp", "gke")),
                      (bot("eks"), ("models/llm", "gke")), (bot("aks"), ("tools/storage-mcp", "gke")),
                      (bot("aks"), ("models/llm", "gke"))}
    assert real_crossings <= crossing
    assert (bot("aks"), ("tools/orders-mcp", "aks")) in calls - crossing, "aks → aks crosses no provider"
    lab_peers = {"agents/support-bot", "tools/orders-mcp", "tools/storage-mcp", "models/llm"}
    assert {(a, b) for a, b in crossing if a[0] in lab_peers and b[0] in lab_peers} == real_crossings

    bom = json.loads(weft(env, "aibom", "support-bot").stdout)
    assert errors(validator(), bom) == []
    text = json.dumps(bom)
    assert "lab-gpt" in text and ORDERS in text and STORAGE in text and "orders_mcp" in text

    suggested = tmp_path / "support-bot.yaml"
    weft(env, "policy", "suggest", "support-bot", "--out", str(suggested))
    weft(env, "policy", "validate", str(suggested))
    intent = yaml.safe_load(suggested.read_text())
    assert {f for rule in intent["spec"]["egress"] for f in rule.get("fqdns", [])} >= {MODEL, ORDERS, STORAGE}

    exported = tmp_path / "events.jsonl"
    exported.write_text(weft(env, "events", "export", "--since", "30m").stdout)
    offline = json.loads(weft(env, "analyze", str(exported), "--json").stdout)
    live = json.loads(weft(env, "agents", "--json").stdout)
    assert offline["inventory"] == live
