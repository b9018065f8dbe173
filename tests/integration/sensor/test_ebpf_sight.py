"""Agent sight on real kernel events: a real agent (OpenAI client over HTTPS, MCP
over stdio and streamable HTTP) seen from the kernel, with secrets removed."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from weft.common import natsserver
from weft.lab.workloads.certs import self_signed
from weft.v1 import event_pb2

K = event_pb2.RuntimeEvent
pytestmark = pytest.mark.ebpf
API_KEY = "sk-weft-test-0123456789abcdefghij"


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 20) -> None:
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"server exited: {proc.stderr.read() if proc.stderr else ''}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


@pytest.fixture(scope="module")
def servers(sensor, tmp_path_factory):
    """The model server (HTTPS) and the orders MCP server (streamable HTTP), watched."""
    cert, key = self_signed(tmp_path_factory.mktemp("certs"), ["127.0.0.1"])
    model_port, mcp_port = natsserver.free_port(), natsserver.free_port()
    procs = [
        sensor.spawn("payments-api", [sys.executable, "-m", "weft.lab.workloads.model_server",
                                      "--host", "127.0.0.1", "--port", str(model_port),
                                      "--cert", str(cert), "--key", str(key)],
                     stderr=subprocess.PIPE, text=True),
        sensor.spawn("payments-api", [sys.executable, "-m", "weft.lab.workloads.orders_mcp",
                                      "--host", "127.0.0.1", "--http", str(mcp_port)],
                     stderr=subprocess.PIPE, text=True)]
    try:
        wait_port(model_port, procs[0])
        wait_port(mcp_port, procs[1])
        yield {"cert": cert, "model": f"https://127.0.0.1:{model_port}/v1",
               "mcp": f"http://127.0.0.1:{mcp_port}/mcp", "pids": [p.pid for p in procs]}
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)


def run_agent(sensor, servers, cgroup: str) -> subprocess.Popen:
    return sensor.run(cgroup, [sys.executable, "-m", "weft.lab.workloads.agent",
                               "--model-url", servers["model"], "--ca", str(servers["cert"]),
                               "--model", "lab-gpt", "--mcp-stdio", "--mcp-http", servers["mcp"]],
                      env={**os.environ, "OPENAI_API_KEY": API_KEY},
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def agent_run(sensor, servers):
    agent = run_agent(sensor, servers, "payments-api")
    assert agent.returncode == 0, agent.stderr
    assert agent.out.count("order 1000: shipped") == 2
    sensor.settle(1.5)
    return agent


def test_model_call_over_https_is_seen_with_model_and_response(sensor, agent_run):
    (req,) = sensor.of(agent_run.pid, K.LLM_REQUEST)
    assert (req.llm.provider, req.llm.model, req.llm.path) == ("openai-compatible", "lab-gpt",
                                                                "/v1/chat/completions")
    assert req.llm.host.startswith("127.0.0.1:")
    assert "lookup_order" in req.llm.prompt_excerpt
    (resp,) = sensor.of(agent_run.pid, K.LLM_RESPONSE)
    assert (resp.llm.status, resp.llm.model) == (200, "lab-gpt")
    assert req.workload.name == "api"


def test_mcp_tool_calls_are_seen_on_both_ends(sensor, agent_run, servers):
    client = [e.mcp for e in sensor.of(agent_run.pid, K.MCP_CALL)]
    stdio = [m for m in client if m.transport == "stdio"]
    http = [m for m in client if m.transport == "streamable-http"]
    assert stdio[0].method == "initialize"   # the client may list tools before calling
    assert {m.server for m in stdio} == {"weft.lab.workloads.orders_mcp"}
    (call,) = [m for m in stdio if m.method == "tools/call"]
    assert (call.tool, call.side, call.arguments_excerpt) == ("lookup_order", "client",
                                                              '{"order_id":"1000"}')
    # The stdio server is the agent's child: its receipt of the same request.
    served = [e.mcp for e in sensor.events if e.kind == K.MCP_CALL and e.mcp.side == "server"
              and e.mcp.transport == "stdio" and e.process.ppid == agent_run.pid]
    assert [(m.method, m.request_id, m.server) for m in served] == [
        (m.method, m.request_id, m.server) for m in stdio]

    (http_call,) = [m for m in http if m.method == "tools/call"]
    assert http_call.tool == "lookup_order" and http_call.session_id
    assert http_call.server == servers["mcp"].removeprefix("http://")
    receipts = [e.mcp for e in sensor.events if e.kind == K.MCP_CALL
                and e.process.pid == servers["pids"][1] and e.mcp.method == "tools/call"]
    assert [(m.side, m.session_id, m.request_id, m.tool) for m in receipts] == [
        ("server", http_call.session_id, http_call.request_id, "lookup_order")]


def test_secrets_never_leave_the_sensor(sensor, agent_run):
    blob = b"".join(e.SerializeToString() for e in sensor.events)
    assert API_KEY.encode() not in blob and b"Bearer" not in blob
    assert API_KEY[:12].encode() not in blob


def test_an_agent_outside_the_watched_cgroups_is_not_seen(sensor, servers):
    agent = run_agent(sensor, servers, "outside")
    assert agent.returncode == 0, agent.stderr
    sensor.settle(1.2)
    assert sensor.of(agent.pid) == []
