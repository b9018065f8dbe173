"""TLS sight's per-stream state in the kernel: on one keep-alive connection, every
request is seen with its own body (head and body written apart, sent as one
record), whatever the suppressed response bodies and bodiless requests in between;
a head whose body never comes is still seen. Also on a collector built as for
kernels without task storage (reads in flight kept in hashes by thread, STASH_HASH),
over TLS and plain HTTP; and from a Node.js agent whose `node` carries OpenSSL
itself (no libssl mapped: the executable is attached)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from unittest import mock

import pytest

from conftest import Sensor

from weft.lab.workloads.certs import self_signed
from weft.v1 import event_pb2

K = event_pb2.RuntimeEvent
pytestmark = pytest.mark.ebpf

# Answers in two writes (head, then a JSON body), as http.server does.
SERVER = r"""
import http.server, json, ssl, sys

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def answer(self, doc):
        out = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def do_GET(self):
        self.answer({"data": [{"id": "m"}]})
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.answer({"model": body["model"], "choices": [{"message": {"content": "ok"}}]})

httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
if len(sys.argv) > 2:   # else plain HTTP
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
print(httpd.server_address[1], flush=True)
httpd.serve_forever()
"""

# POST, GET (no body), POST, POST on one connection; every POST's head and body are
# two writes.
CLIENT = r"""
import http.client, json, ssl, sys

conn = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]),
                                   context=ssl.create_default_context(cafile=sys.argv[2]))
def post(i):
    body = json.dumps({"model": f"keepalive-{i}", "messages": [{"role": "user", "content": f"question {i}"}]}).encode()
    conn.putrequest("POST", "/v1/chat/completions")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    conn.send(body)
    return conn.getresponse()
def get():
    conn.request("GET", "/v1/models")
    return conn.getresponse()
for call in (lambda: post(1), get, lambda: post(2), lambda: post(3)):
    resp = call()
    assert resp.status == 200 and resp.read()
print("done")
"""

# One POST in plain HTTP: its response head is read by read(2) (payload.c's stash).
PLAIN = r"""
import http.client, json, sys

conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
conn.request("POST", "/v1/chat/completions", json.dumps({"model": "plain-1", "messages": []}),
             {"Content-Type": "application/json"})
resp = conn.getresponse()
assert resp.status == 200 and resp.read()
print("done")
"""

# A request head, then nothing on that connection: the kernel holds it for a body.
STALLS = r"""
import http.client, ssl, sys, time

conn = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]),
                                   context=ssl.create_default_context(cafile=sys.argv[2]))
conn.putrequest("POST", "/v1/chat/completions")
conn.putheader("Content-Length", "100")
conn.endheaders()
time.sleep(1.5)
print("done")
"""


# A Node.js agent: CALLS model calls on one keep-alive connection, 100 ms apart (the
# sensor finds its executable soon after the exec, not before its first call).
NODE_AGENT = r"""
const https = require("https"), fs = require("fs");
const [port, ca, calls] = process.argv.slice(1);
const agent = new https.Agent({keepAlive: true, maxSockets: 1, ca: fs.readFileSync(ca)});
let i = 0;
function call() {
  i++;
  const body = JSON.stringify({model: `node-${i}`, messages: [{role: "user", content: `from node ${i}`}]});
  const req = https.request({host: "127.0.0.1", port, path: "/v1/chat/completions", method: "POST", agent,
                             headers: {"Content-Type": "application/json", "Content-Length": Buffer.byteLength(body),
                                       "Authorization": "Bearer sk-node-000000000000000000"}}, (res) => {
    res.resume();
    res.on("end", () => {
      if (res.statusCode !== 200) process.exit(2);
      if (i < Number(calls)) setTimeout(call, 100); else { console.log("done"); process.exit(0); }
    });
  });
  req.on("error", (e) => { console.error(e.message); process.exit(3); });
  req.end(body);
}
call();
"""
NODE_CALLS = 40


def node_with_openssl_inside() -> str | None:
    """The node executable when it exports OpenSSL's SSL calls itself (official builds);
    None when there is none, or it links the system libssl (seen as any libssl is)."""
    from weft.sensor import elf
    from weft.sensor.sight import libssl

    node = shutil.which("node")
    so = elf.read(node, libssl.SYMBOLS) if node else None
    return node if so and {"SSL_read", "SSL_write"} <= set(so.symbols) else None


@pytest.fixture(scope="module")
def server(sensor, tmp_path_factory):
    """Outside the watched cgroups: only the client's side is seen."""
    cert, key = self_signed(tmp_path_factory.mktemp("certs"), ["127.0.0.1"])
    proc = sensor.spawn("outside", [sys.executable, "-c", SERVER, str(cert), str(key)],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        yield proc.stdout.readline().strip(), cert
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def plain_server(sensor):
    proc = sensor.spawn("outside", [sys.executable, "-c", SERVER],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def hash_stash_sensor(sensor):
    """A second collector watching the same cgroups, built as for a kernel without
    task storage in tracing programs."""
    from weft.sensor import ebpf
    collector = ebpf.EbpfCollector(sensor.collector.config)
    with mock.patch.object(ebpf, "task_storage_usable", lambda _release: False):
        collector.start()
    try:
        yield Sensor(collector, sensor.cgroups, sensor.files)
    finally:
        collector.close()


def test_every_request_on_one_keep_alive_connection_is_seen_with_its_body(sensor, server):
    port, cert = server
    client = sensor.run("watched", [sys.executable, "-c", CLIENT, port, str(cert)],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert client.returncode == 0 and client.out.strip() == "done"
    sensor.settle(1.0)

    requests = sensor.of(client.pid, K.LLM_REQUEST)
    assert [r.llm.model for r in requests] == ["keepalive-1", "keepalive-2", "keepalive-3"]
    assert all(f"question {i}" in r.llm.prompt_excerpt for i, r in enumerate(requests, 1))
    responses = sensor.of(client.pid, K.LLM_RESPONSE)
    assert [(r.llm.status, r.llm.path) for r in responses] == [(200, "/v1/chat/completions")] * 3
    (listing,) = sensor.of(client.pid, K.HTTP_REQUEST)
    assert (listing.http.method, listing.http.path) == ("GET", "/v1/models")


def test_a_request_whose_body_never_comes_is_seen_once_without_it(sensor, server):
    port, cert = server
    client = sensor.run("watched", [sys.executable, "-c", STALLS, port, str(cert)],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert client.returncode == 0, client.out
    sensor.settle(1.5)
    (request,) = sensor.of(client.pid, K.LLM_REQUEST)
    assert (request.llm.path, request.llm.model, request.llm.prompt_excerpt) == ("/v1/chat/completions", "", "")


def test_without_task_storage_tls_and_plain_http_are_seen_alike(hash_stash_sensor, server, plain_server):
    port, cert = server
    tls = hash_stash_sensor.run("watched", [sys.executable, "-c", CLIENT, port, str(cert)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    plain = hash_stash_sensor.run("watched", [sys.executable, "-c", PLAIN, plain_server],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert (tls.returncode, plain.returncode) == (0, 0), (tls.out, plain.out)
    hash_stash_sensor.settle(1.0)

    requests = hash_stash_sensor.of(tls.pid, K.LLM_REQUEST)
    assert [r.llm.model for r in requests] == ["keepalive-1", "keepalive-2", "keepalive-3"]
    responses = hash_stash_sensor.of(tls.pid, K.LLM_RESPONSE)   # read on SSL_read's return
    assert [r.llm.status for r in responses] == [200] * 3
    (request,) = hash_stash_sensor.of(plain.pid, K.LLM_REQUEST)
    (response,) = hash_stash_sensor.of(plain.pid, K.LLM_RESPONSE)   # read on read(2)'s exit
    assert (request.llm.model, response.llm.status, response.llm.model) == ("plain-1", 200, "plain-1")


def test_a_node_agent_with_openssl_inside_is_seen_and_one_outside_is_not(sensor, server):
    node = node_with_openssl_inside()
    if node is None:
        pytest.skip("no node executable carrying OpenSSL itself here")
    port, cert = server
    argv = [node, "-e", NODE_AGENT, port, str(cert), str(NODE_CALLS)]
    agent = sensor.spawn("watched", argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outside = sensor.spawn("outside", argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while agent.poll() is None or outside.poll() is None:   # the sensor at work meanwhile
        assert time.monotonic() < deadline, "the node agents did not finish within 60 s"
        sensor.poll()
        time.sleep(0.02)
    for proc in (agent, outside):
        out, err = proc.communicate()
        assert proc.returncode == 0 and out.strip() == "done", err
    sensor.settle(1.5)

    tls = next(p for p in sensor.collector._probes if p.name == "tls")
    assert any(lib.endswith(node) for lib in tls.libraries), tls.libraries
    requests = sensor.of(agent.pid, K.LLM_REQUEST)
    models = [r.llm.model for r in requests]
    # Every call from the first one seen on (its executable attached soon after the exec:
    # the last 20 of 40 calls, 100 ms apart, at the least), in order, each once.
    first = int(models[0].split("-")[1]) if models else NODE_CALLS + 1
    assert first <= NODE_CALLS - 20 and models == [f"node-{i}" for i in range(first, NODE_CALLS + 1)], models
    assert all(f"from node {m.split('-')[1]}" in r.llm.prompt_excerpt for m, r in zip(models, requests))
    assert len(sensor.of(agent.pid, K.LLM_RESPONSE)) >= len(requests) - 1
    leaks = [e for e in sensor.events if "sk-node" in str(e)]
    assert not leaks, [(K.Kind.Name(e.kind), str(e)[:300]) for e in leaks]
    assert sensor.of(outside.pid, K.LLM_REQUEST) == []
