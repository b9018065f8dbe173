"""The sight assembler on synthetic records: requests joined with their bodies,
model calls with their responses, MCP calls over HTTP and stdio."""
from __future__ import annotations

import json
import os

from weft.sensor.sight.assembler import BODY_WAIT_NS, Assembler, SightConfig
from weft.sensor.sight.records import DIR_READ, DIR_WRITE, RECORD, VIA_SYSCALL, VIA_TLS, DataRecord
from weft.sensor.sight import llm, stdio
from weft.v1 import event_pb2

K = event_pb2.RuntimeEvent
TS = 5_000_000_000


def rec(data: bytes, *, dir=DIR_WRITE, via=VIA_TLS, stream=7, tgid=100, ts=TS) -> DataRecord:
    """The record the kernel would have written."""
    return DataRecord.decode(RECORD.pack(8, tgid, tgid, 0, 42, ts, b"agent", stream, len(data), len(data), dir, via)
                             + data)


def head(method: str, path: str, host: str, body: bytes = b"", **headers) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}",
             *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


CHAT = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi sk-abcdefghijklmnop"}]}).encode()


def test_model_call_head_and_body_in_separate_writes_then_its_response():
    a = Assembler()
    assert a.feed(rec(head("POST", "/v1/chat/completions", "api.openai.com", CHAT,
                           Authorization="Bearer sk-abcdefghijklmnop"))) == []
    (req,) = a.feed(rec(CHAT))
    assert req.kind == K.LLM_REQUEST
    assert (req.llm.provider, req.llm.host, req.llm.model) == ("openai", "api.openai.com", "gpt-4o-mini")
    assert "sk-abc" not in req.llm.prompt_excerpt and "hi" in req.llm.prompt_excerpt
    (resp,) = a.feed(rec(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"model":"gpt-4o-mini-2024","choices":[]}',
                         dir=DIR_READ))
    assert (resp.kind, resp.llm.status, resp.llm.model) == (K.LLM_RESPONSE, 200, "gpt-4o-mini-2024")


def test_a_body_that_never_comes_is_reported_without_one_after_the_wait():
    a = Assembler()
    assert a.feed(rec(head("POST", "/v1/messages", "api.anthropic.com", b"{}" * 10))) == []
    assert a.tick(TS + BODY_WAIT_NS // 2) == []
    (req,) = a.tick(TS + BODY_WAIT_NS + 1)
    assert (req.kind, req.llm.provider, req.llm.model) == (K.LLM_REQUEST, "anthropic", "")


def test_plain_request_keeps_only_safe_headers():
    (ev,) = Assembler().feed(rec(head("GET", "/healthz?x=1", "svc:8080", Cookie="s=1"), via=VIA_SYSCALL))
    assert (ev.kind, ev.http.method, ev.http.path, ev.http.side) == (K.HTTP_REQUEST, "GET", "/healthz", "client")
    assert dict(ev.http.headers) == {"host": "svc:8080", "content-length": "0"}


def test_mcp_over_http_on_both_ends_carries_session_and_request_ids():
    body = json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                       "params": {"name": "lookup_order", "arguments": {"order_id": "7"}}}).encode()
    msg = head("POST", "/mcp", "orders.aks.lab:8080", body, mcp_session_id="s-1")
    a = Assembler()
    for direction, side in ((DIR_WRITE, "client"), (DIR_READ, "server")):
        a.feed(rec(msg, dir=direction, via=VIA_SYSCALL))
        (ev,) = a.feed(rec(body, dir=direction, via=VIA_SYSCALL))
        m = ev.mcp
        assert (ev.kind, m.transport, m.server, m.method, m.tool, m.request_id, m.session_id, m.side) == (
            K.MCP_CALL, "streamable-http", "orders.aks.lab:8080/mcp", "tools/call", "lookup_order", "3", "s-1", side)
        assert m.arguments_excerpt == '{"order_id":"7"}'


def test_mcp_over_stdio_names_the_child_that_reads_the_pipe(tmp_path):
    proc = tmp_path / "proc"
    for pid, args in ((100, ["python", "agent.py"]), (101, ["npx", "-y", "@modelcontextprotocol/server-github"])):
        (proc / str(pid) / "fd").mkdir(parents=True)
        (proc / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in args))
        (proc / str(pid) / "task" / str(pid)).mkdir(parents=True)
    (proc / "100" / "task" / "100" / "children").write_text("101 ")
    os.symlink("pipe:[555]", proc / "100" / "fd" / "9")
    os.symlink("pipe:[555]", proc / "101" / "fd" / "0")
    line = b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}\n{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
    a = Assembler(proc=str(proc))
    (client,) = a.feed(rec(line, via=VIA_SYSCALL, stream=9))
    (server,) = a.feed(rec(line, via=VIA_SYSCALL, stream=0, tgid=101, dir=DIR_READ))
    assert (client.mcp.transport, client.mcp.server, client.mcp.side) == ("stdio", "@modelcontextprotocol/server-github", "client")
    assert (server.mcp.server, server.mcp.side, server.mcp.request_id) == (client.mcp.server, "server", "1")


def test_json_that_is_not_mcp_and_tls_junk_make_nothing():
    a = Assembler(proc="/nonexistent")
    assert a.feed(rec(b'{"level": "info", "msg": "hello"}', via=VIA_SYSCALL)) == []
    assert a.feed(rec(b'{"jsonrpc":"2.0","id":1,"result":{}}', via=VIA_SYSCALL)) == []
    assert a.feed(rec(b"HTTP/1.1 200 OK\r\n\r\n", dir=DIR_READ)) == []   # no request awaiting it
    assert a.feed(rec(b"GET \x00\x01garbage")) == []


def test_excerpts_can_be_switched_off():
    a = Assembler(SightConfig(excerpt_bytes=0))
    (req,) = a.feed(rec(head("POST", "/v1/chat/completions", "localhost:11434", CHAT) + CHAT))
    assert (req.llm.provider, req.llm.model, req.llm.prompt_excerpt) == ("openai-compatible", "gpt-4o-mini", "")


def test_an_excerpt_of_many_byte_characters_is_whole_and_a_secret_past_it_still_redacted():
    """Only the bytes the excerpt can need are decoded: four-byte characters fill it
    whole, and a key that starts inside it and runs past it is still removed."""
    limit = 32
    a = Assembler(SightConfig(excerpt_bytes=limit))

    def excerpt(prompt: str) -> str:
        body = json.dumps({"model": "m", "prompt": prompt}, ensure_ascii=False).encode()
        (req,) = a.feed(rec(head("POST", "/v1/completions", "localhost:8000", body) + body))
        return req.llm.prompt_excerpt

    emoji = "\U0001F600"
    assert excerpt(emoji * 3000) == ('{"model": "m", "prompt": "' + emoji * 3000)[:limit]
    cut = excerpt(emoji * 2 + "sk-" + "a" * 40 + emoji * 2000)
    assert cut.startswith('{"model": "m", "prompt": "' + emoji * 2) and len(cut) <= limit
    assert "sk-" not in cut and "aaaa" not in cut


def test_providers_by_host_and_by_api_shape():
    assert llm.provider_of("bedrock-runtime.us-east-1.amazonaws.com", "/model/x/invoke") == "bedrock"
    assert llm.provider_of("my-res.openai.azure.com", "/openai/deployments/d/chat/completions") == "azure-openai"
    assert llm.provider_of("us-central1-aiplatform.googleapis.com", "/v1/x:generateContent") == "vertex-ai"
    assert llm.provider_of("ollama.default:11434", "/api/chat") == "ollama"
    assert llm.provider_of("s3.amazonaws.com", "/bucket/key") is None
    assert llm.model_of("/model/anthropic.claude-3-haiku/invoke", b"") == "anthropic.claude-3-haiku"
    assert llm.model_of("/v1beta/models/gemini-1.5-pro:generateContent", b"") == "gemini-1.5-pro"


def test_server_names_from_command_lines():
    assert stdio.server_name(["uvx", "mcp-server-fetch"]) == "mcp-server-fetch"
    assert stdio.server_name(["/usr/bin/python3", "-m", "mcp_server_git", "--repo", "."]) == "mcp_server_git"
    assert stdio.server_name(["python", "/srv/tools/orders.py"]) == "orders.py"
    assert stdio.server_name(["/opt/bin/my-mcp"]) == "my-mcp"
