"""Agent sight in the lab: a real agent in `eks` asks a model in `gke` over HTTPS
(self-signed certificate, the OpenAI client), calls an MCP tool over stdio (its
own child) and one over streamable HTTP in `aks`. Every model call and tool call
is seen, on both ends, through the whole pipeline; the API key is nowhere."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab_support import exported, lab_exec, wait_for, weft, why_not
from weft.lab.workloads.certs import self_signed

pytestmark = [pytest.mark.skipif(bool(why_not()), reason=why_not() or "-"), pytest.mark.ebpf,
              pytest.mark.slow, pytest.mark.timeout(300)]

API_KEY = "sk-lab-e2e-Zq8x0123456789abcdefABCDEF"
MODEL_HOST = "llm.models.svc.gke.lab"
MCP_HOST = "orders-mcp.tools.svc.aks.lab"


@pytest.fixture
def agent_world(lab_with_sensors, tmp_path):
    env = lab_with_sensors
    cert, key = self_signed(tmp_path / "certs", [MODEL_HOST])
    servers = [
        lab_exec(env, "gke", "models/llm", sys.executable, "-m", "weft.lab.workloads.model_server",
                 "--port", "8443", "--cert", str(cert), "--key", str(key)),
        lab_exec(env, "aks", "tools/orders-mcp", sys.executable, "-m", "weft.lab.workloads.orders_mcp",
                 "--http", "8080", stderr=subprocess.DEVNULL)]
    try:
        yield env, cert
    finally:
        for p in servers:
            p.terminate()
            p.wait(timeout=20)


def run_agent(env, cert: Path) -> str:
    agent = ("import subprocess, sys, time\n"   # waits for the servers across the lab
             "for _ in range(100):\n"
             "    r = subprocess.run([sys.executable, '-m', 'weft.lab.workloads.agent', '--model-url', "
             f"'https://{MODEL_HOST}:8443/v1', '--ca', {str(cert)!r}, '--model', 'lab-gpt', '--mcp-stdio', "
             f"'--mcp-http', 'http://{MCP_HOST}:8080/mcp'], capture_output=True, text=True)\n"
             "    if r.returncode == 0: print(r.stdout); break\n"
             "    time.sleep(0.3)\n"
             "else: sys.exit(r.stderr)\n")
    done = weft({**env, "OPENAI_API_KEY": API_KEY}, "lab", "exec", "eks", "--workload", "agents/support-bot",
                "--", sys.executable, "-c", agent, timeout=120)
    return done.stdout


def test_model_and_tool_calls_are_seen_on_both_ends_and_secrets_nowhere(agent_world):
    env, cert = agent_world
    assert run_agent(env, cert).count("order 1000: shipped") == 2

    def sight():
        evs = [e for e in exported(env) if e["kind"] in ("LLM_REQUEST", "LLM_RESPONSE", "MCP_CALL")]
        calls = [e for e in evs if e["kind"] == "MCP_CALL" and e["mcp"]["method"] == "tools/call"]
        ends = {(e["node"]["cluster"], e["mcp"]["transport"], e["mcp"]["side"]) for e in calls}
        kinds = {e["kind"] for e in evs}
        want = {("eks", "stdio", "client"), ("eks", "stdio", "server"),
                ("eks", "streamable-http", "client"), ("aks", "streamable-http", "server")}
        return evs if want <= ends and {"LLM_REQUEST", "LLM_RESPONSE"} <= kinds else None
    events = wait_for(sight, 45, "model and MCP calls from eks and aks")

    (req,) = [e for e in events if e["kind"] == "LLM_REQUEST" and e["workload"]["name"] == "support-bot"]
    assert (req["llm"]["model"], req["llm"]["host"], req["llm"]["path"]) == (
        "lab-gpt", f"{MODEL_HOST}:8443", "/v1/chat/completions")
    assert req["node"]["provider"] == "AWS" and req["workload"]["namespace"] == "agents"
    (resp,) = [e for e in events if e["kind"] == "LLM_RESPONSE"]
    assert resp["llm"]["status"] == 200

    calls = [e for e in events if e["kind"] == "MCP_CALL" and e["mcp"]["method"] == "tools/call"]
    http = {e["mcp"]["side"]: e for e in calls if e["mcp"]["transport"] == "streamable-http"}
    client, server = http["client"], http["server"]
    assert client["mcp"]["sessionId"] and client["mcp"]["sessionId"] == server["mcp"]["sessionId"]
    assert client["mcp"]["requestId"] == server["mcp"]["requestId"]
    assert client["mcp"]["tool"] == server["mcp"]["tool"] == "lookup_order"
    assert server["workload"]["name"] == "orders-mcp" and server["node"]["provider"] == "AZURE"
    assert client["mcp"]["server"] == f"{MCP_HOST}:8080/mcp"
    stdio = {e["mcp"]["side"]: e for e in calls if e["mcp"]["transport"] == "stdio"}
    assert stdio["client"]["mcp"]["server"] == stdio["server"]["mcp"]["server"] == "weft.lab.workloads.orders_mcp"
    assert stdio["client"]["mcp"]["requestId"] == stdio["server"]["mcp"]["requestId"]

    # Nowhere: not in any event, nor in anything weft wrote (stores, JetStream, logs, traces).
    everything = weft(env, "events", "export", "--since", "10m").stdout
    assert API_KEY not in everything and "Bearer" not in everything
    data_dir = Path(env["WEFT_DATA_DIR"])
    leaks = [p for p in data_dir.rglob("*") if p.is_file() and _contains(p, API_KEY.encode())]
    assert leaks == [], f"the API key was written to {leaks}"


def _contains(path: Path, needle: bytes) -> bool:
    try:
        return needle in path.read_bytes()
    except OSError:
        return False
