"""What agent sight's OpenSSL uprobes cost an HTTPS request loop:
`python -m bench.agent_sight` (root; prints, asserts nothing).

A client (the agent's side, in a watched cgroup) POSTing chat-completion bodies
on one HTTPS keep-alive connection to a local model-like server. The server
stands for the remote model API: it runs outside the watched cgroups with its
own copy of libssl (as another image would bring), so only the client's TLS
calls meet the uprobes. The sensor is compiled once; runs alternate (the order
rotating each pair) between
  uprobes     the TLS probe attached: every SSL_write/SSL_read is seen (A)
  no-uprobes  the same sensor with the TLS probe's uprobes detached (B)
and report requests/s of the client's loop, A/B as a median with its spread, the
LLM_REQUEST events the sensor delivered per run, and the verdict against the
issue's target (at most 10 % fewer requests/s with the uprobes). Two figures
explain the cost: the data records the kernel delivered per request (a request
is two: its head and body start as one, and its response's head) and the
sensor process's CPU per request (its collector thread: decoding, assembling,
redacting, finishing events), each run to the collector having caught up.

The client, its server and the sensor share the machine's cores, so the sensor's
CPU comes out of the loop's: on 2 vCPUs each 10 µs of it per request costs ~2 %
of the loop, and runs scatter by ±30 % (hence the default of 11 pairs).
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from weft.common import cgroupfs
from weft.sensor.ebpf import EbpfConfig
from weft.sensor.errors import preflight
from weft.v1 import event_pb2

from bench.sensor_realistic import Sensor, in_cgroup, make_cert

TARGET = 0.10
MODES = ("uprobes", "no-uprobes")

SERVER = r"""
import http.server, json, ssl, sys

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # head and body are two writes: no delayed-ACK stalls
    def log_message(self, *args):
        pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        model = json.loads(body)["model"]
        out = json.dumps({"model": model, "choices": [{"message": {"content": "ok " * 40}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
print(httpd.server_address[1], flush=True)
httpd.serve_forever()
"""

CLIENT = r"""
import http.client, json, ssl, sys, time

port, cafile, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
conn = http.client.HTTPSConnection("127.0.0.1", port, context=ssl.create_default_context(cafile=cafile))
body = json.dumps({"model": "bench-model", "messages": [{"role": "user", "content": "hello " * 100}]})
headers = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench-000000000000"}
start = time.perf_counter()
for _ in range(n):
    conn.request("POST", "/v1/chat/completions", body, headers)
    resp = conn.getresponse()
    resp.read()
    if resp.status != 200:
        sys.exit(f"HTTP {resp.status}")
print(n / (time.perf_counter() - start))
"""


def own_libssl(work: Path) -> dict[str, str]:
    """Environment for a process that loads a private copy of libssl/libcrypto."""
    libs = work / "server-libs"
    libs.mkdir(exist_ok=True)
    for lib in ("libssl.so.3", "libcrypto.so.3"):
        source = next(p for p in (Path("/lib/x86_64-linux-gnu"), Path("/usr/lib/x86_64-linux-gnu"),
                                  Path("/usr/lib64"), Path("/usr/lib")) if (p / lib).exists()) / lib
        shutil.copy2(source, libs / lib)
    return {**os.environ, "LD_LIBRARY_PATH": str(libs)}


def loop_run(cgroup: Path, outside: Path, server_env: dict, cert: Path, key: Path, requests: int) -> float:
    """Requests/s of one client loop (in cgroup) against a fresh server (outside)."""
    server = subprocess.Popen(in_cgroup(outside, [sys.executable, "-c", SERVER, str(cert), str(key)]),
                              stdout=subprocess.PIPE, text=True, env=server_env)
    try:
        port = server.stdout.readline().strip()
        out = subprocess.run(in_cgroup(cgroup, [sys.executable, "-c", CLIENT, port, str(cert), str(requests)]),
                             check=True, capture_output=True, text=True).stdout
        return float(out)
    finally:
        server.kill()
        server.wait()


def spread(values: list[float], fmt: str = ".3f") -> str:
    return f"{statistics.median(values):{fmt}} [{min(values):{fmt}}–{max(values):{fmt}}]"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=11)
    ap.add_argument("--requests", type=int, default=3000, help="requests per run")
    args = ap.parse_args()
    if problems := preflight():
        print("agent_sight: cannot run:", "; ".join(problems))
        return 0
    parent = cgroupfs.v2_mount() / f"weft-bench-sight-{os.getpid()}"
    cgroup, outside = parent / "agent", parent / "model-api"
    work = Path(tempfile.mkdtemp(prefix="weft-bench-sight-"))
    sensor = None
    try:
        for cg in (parent, cgroup, outside):
            cg.mkdir()
        cert, key = make_cert(work)
        server_env = own_libssl(work)
        sensor = Sensor(EbpfConfig(node=event_pb2.Node(name="bench"), watch_cgroups=[str(cgroup)]))
        tls = next(p for p in sensor.collector._probes if p.name == "tls")
        print(f"TLS probe attached to {', '.join(tls.libraries) or 'nothing'}")
        results: dict[str, list[float]] = {m: [] for m in MODES}
        seen: dict[str, list[int]] = {m: [] for m in MODES}
        costs: dict[str, list[tuple[float, float]]] = {m: [] for m in MODES}
        for i in range(args.pairs):
            order = MODES if i % 2 == 0 else MODES[::-1]
            for mode in order:
                with sensor._lock:
                    if mode == "no-uprobes":
                        tls.detach(sensor._bpf)
                    elif not tls.libraries:
                        tls.attach(sensor._bpf)
                before, usage = _llm_requests(sensor), _usage(sensor)
                results[mode].append(loop_run(cgroup, outside, server_env, cert, key, args.requests))
                seen[mode].append(_settled(sensor) - before)
                costs[mode].append(_per_request(usage, _usage(sensor), args.requests))
            a, b = results["uprobes"][-1], results["no-uprobes"][-1]
            (ra, ca), (rb, cb) = costs["uprobes"][-1], costs["no-uprobes"][-1]
            print(f"pair {i} ({'/'.join(order)}): uprobes {a:,.0f} req/s  no-uprobes {b:,.0f} req/s  "
                  f"A/B {a / b:.3f}  model calls seen {seen['uprobes'][-1]}/{seen['no-uprobes'][-1]}  "
                  f"records/request {ra:.2f}/{rb:.2f}  sensor CPU µs/request {ca:.0f}/{cb:.0f}", flush=True)
        ratios = [a / b for a, b in zip(results["uprobes"], results["no-uprobes"])]
        slowdown = 1 - statistics.median(ratios)
        print(f"\nsummary, {args.pairs} pairs of {args.requests:,} keep-alive HTTPS requests (median [min–max]):")
        print(f"  A uprobes      {spread(results['uprobes'], ',.0f')} requests/s")
        print(f"  B no uprobes   {spread(results['no-uprobes'], ',.0f')} requests/s")
        print(f"  ratio A/B      {spread(ratios)}  (slowdown {slowdown:.1%})")
        print(f"  model calls the sensor delivered per run: with uprobes {spread(seen['uprobes'], ',.0f')}, "
              f"without {spread(seen['no-uprobes'], ',.0f')}")
        for mode in MODES:
            records, cpu = zip(*costs[mode])
            print(f"  {mode + ':':12s} kernel records/request {spread(list(records), '.2f')}, "
                  f"sensor CPU µs/request {spread(list(cpu), '.0f')}")
        print(f"  target ≤ {TARGET:.0%} slowdown: {'MET' if slowdown <= TARGET else 'NOT MET'}")
    finally:
        if sensor:
            sensor.close()
        for cg in (cgroup, outside, parent):
            if cg.exists():
                cg.rmdir()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _settled(sensor: Sensor, quiet: float = 0.5, limit: float = 10.0) -> int:
    """The model calls delivered once the collector has caught up (no new one for `quiet` s)."""
    deadline, last = time.monotonic() + limit, -1
    while time.monotonic() < deadline:
        now = _llm_requests(sensor)
        if now == last:
            return now
        last = now
        time.sleep(quiet)
    return last


def _usage(sensor: Sensor) -> tuple[int, float]:
    """(records the collector has read, this process's CPU seconds): the collector
    thread is what runs here while the loop does."""
    with sensor._lock:
        records = sensor.collector.stats()["records"]
    r = resource.getrusage(resource.RUSAGE_SELF)
    return records, r.ru_utime + r.ru_stime


def _per_request(before: tuple[int, float], after: tuple[int, float], requests: int) -> tuple[float, float]:
    """(records, sensor CPU µs) per request of one run."""
    return (after[0] - before[0]) / requests, (after[1] - before[1]) / requests * 1e6


def _llm_requests(sensor: Sensor) -> int:
    with sensor._lock:
        return sensor.llm_requests


if __name__ == "__main__":
    sys.exit(main())
