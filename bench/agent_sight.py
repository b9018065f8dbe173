"""What agent sight's OpenSSL uprobes cost an HTTPS request loop:
`python -m bench.agent_sight` (root; prints, asserts nothing).

A client (the agent's side, in a watched cgroup) POSTs chat-completion bodies
on one HTTPS keep-alive connection to a local model-like server, without end.
The server stands for the remote model API: it runs outside the watched cgroups
with its own copy of libssl (as another image would bring), so only the client's
TLS calls meet the uprobes. The sensor is compiled once, and ONE client and ONE
server process run for the whole bench, while the bench toggles the TLS probe
in short windows (--window, 2 s), in rounds whose order alternates (A B K K B A …,
so drift favours none):
  uprobes         the TLS probe attached: every SSL_write/SSL_read is seen (A)
  no-uprobes      the same sensor with the TLS probe's uprobes detached (B)
  uprobes-unread  the probe attached, and the sensor reads its records off the ring
                  but makes nothing of them (K): what the kernel side costs alone,
                  the uprobes' traps and programs. A − K is the sensor's Python.
Uprobes go on the libssl file, so a process that mapped it long ago meets them
from the attach on (the model calls seen in A windows, none in B, show it).

Why windows: a fresh server and client per run (as this bench did before) made
each run a new memory layout, process start and page-cache state, and put
seconds of drift between A and B; on a shared 2-vCPU machine the per-pair ratio
A/B scattered from 0.5 to 1.5 and the verdict was never clear.

The client adds one to an 8-byte counter in a file both processes map after
every request (the same store in both modes); a window's requests/s is the
counter's change over time.monotonic()'s. The attach (~50 ms) and the detach
(~300 ms: uretprobes unregister slowly) are transitions: the loop's requests and
time during those calls count to neither mode's rate (the detach's would dilute A
with a loop the probe is being taken from). An A (or K) window's rate runs over
[attach returned → detach called] and [detach returned → a poll begun after it
ended]: the sensor reads records up to a poll interval late (and not at all while
the detach holds its lock), and that catch-up tail, its requests and its time,
counts to A, so A bears the contention of all the work its records cause. A B
window starts after it and runs --window seconds. The sensor's figures of an A
window, and the requests they are per, run over all of it, the detach included.

Per window: requests/s, the CPU of the sensor's poll thread (its collector:
decoding, assembling, redacting, finishing events; its own thread clock), the
client's CPU (/proc/PID/schedstat: the uprobes' traps and programs run in it), the
data records the collector read (a request is two: its head and body start as
one, and its response's head) and the LLM_REQUEST events it delivered. Reported:
requests/s of A, B and K, A/B and K/B per round as medians with their spread and
interquartile range, and the verdict against the issue's target (at most 10 % fewer
requests/s with the uprobes: A/B, the whole of it) saying when the interquartile
range straddles it. K/B shows how much of that is the kernel side. The client,
its server and the sensor share the machine's cores. The sensor's poll thread yields
to them as the product's does (nice 10 while it keeps up, weft/sensor/yielding.py;
--nice 0 runs it at full priority for comparison): at nice 0 each 10 µs of its CPU
per request cost the loop ~3 % on 2 vCPUs (a plain CPU burner with the sensor's duty,
~11 % of a core, slows the loop ~6 % at nice 0, not measurably at nice 10).
Windows remove the scatter of separate processes and most drift, not the loop's
own: on a shared 2-vCPU VM its rate still varies by ~10 % from one half-second to
the next (the scheduler moving client and server between cores, other guests on
the host), so A/B of 2 s windows (the default) has an interquartile range ~0.14 to
~0.25 wide, by the day: only the median of many rounds says much.
"""
from __future__ import annotations

import argparse
import mmap
import os
import select
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
from weft.sensor.yielding import YIELD_NICE
from weft.v1 import event_pb2

from bench._sensor import quartiles, remove_cgroups
from bench._windows import A, B, K, Mark, Reading, Window, order, ratios, verdict
from bench.sensor_realistic import Sensor, in_cgroup, make_cert

TARGET = 0.10

SERVER = r"""
import ctypes, http.server, json, ssl, sys

ctypes.CDLL(None).prctl(1, 9)   # PR_SET_PDEATHSIG = SIGKILL: never outlive the bench

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
import ctypes, http.client, json, mmap, ssl, sys

ctypes.CDLL(None).prctl(1, 9)   # PR_SET_PDEATHSIG = SIGKILL: never outlive the bench
port, cafile, counter = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(counter, "r+b") as f:
    count = memoryview(mmap.mmap(f.fileno(), 8)).cast("Q")
conn = http.client.HTTPSConnection("127.0.0.1", port, context=ssl.create_default_context(cafile=cafile))
body = json.dumps({"model": "bench-model", "messages": [{"role": "user", "content": "hello " * 100}]})
headers = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench-000000000000"}
n = 0
while True:
    conn.request("POST", "/v1/chat/completions", body, headers)
    resp = conn.getresponse()
    resp.read()
    if resp.status != 200:
        sys.exit(f"HTTP {resp.status}")
    n += 1
    count[0] = n
"""


class LoopStopped(RuntimeError):
    """The client or its server exited or stalled, or the bench ran out of time."""


def own_libssl(work: Path) -> dict[str, str]:
    """Environment for a process that loads a private copy of libssl/libcrypto."""
    libs = work / "server-libs"
    libs.mkdir(exist_ok=True)
    for lib in ("libssl.so.3", "libcrypto.so.3"):
        source = next(p for p in (Path("/lib/x86_64-linux-gnu"), Path("/usr/lib/x86_64-linux-gnu"),
                                  Path("/usr/lib64"), Path("/usr/lib")) if (p / lib).exists()) / lib
        shutil.copy2(source, libs / lib)
    return {**os.environ, "LD_LIBRARY_PATH": str(libs)}


class Loop:
    """The client's endless request loop (in the watched cgroup) against its server
    (outside), both started once; the client counts its requests in an 8-byte
    counter that this process maps too."""

    def __init__(self, work: Path):
        # The client runs from a file, as an agent does: its command line (which every
        # event of its process carries) is a path, not the script's 800 bytes of source.
        self._client = work / "agent.py"
        self._client.write_text(CLIENT)
        self._counter = work / "requests"
        self._counter.write_bytes(bytes(8))
        with open(self._counter, "r+b") as f:
            self._map = mmap.mmap(f.fileno(), 8)
        self._count = memoryview(self._map).cast("Q")
        self._logs = {name: open(work / f"{name}.stderr", "w+") for name in ("server", "client")}
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, cgroup: Path, outside: Path, server_env: dict, cert: Path, key: Path) -> None:
        self.procs["server"] = subprocess.Popen(
            in_cgroup(outside, [sys.executable, "-c", SERVER, str(cert), str(key)]),
            stdout=subprocess.PIPE, stderr=self._logs["server"], text=True, env=server_env)
        port = self._port()
        self.procs["client"] = subprocess.Popen(
            in_cgroup(cgroup, [sys.executable, str(self._client), port, str(cert), str(self._counter)]),
            stdout=subprocess.DEVNULL, stderr=self._logs["client"])
        deadline = time.monotonic() + 30
        while self.requests() == 0:
            self.check()
            if time.monotonic() > deadline:
                raise LoopStopped("the client completed no request within 30 s of its start")
            time.sleep(0.05)

    def _port(self) -> str:
        server = self.procs["server"]
        if select.select([server.stdout], [], [], 30)[0]:
            if port := server.stdout.readline().strip():
                return port
        self.check()
        raise LoopStopped("the server did not say its port within 30 s")

    def requests(self) -> int:
        return self._count[0]

    def client_cpu(self) -> float:
        """Seconds the client has run, user and kernel (its uprobes' traps and programs
        in it), from the scheduler's own count."""
        with open(f"/proc/{self.procs['client'].pid}/schedstat") as f:
            return int(f.read().split()[0]) / 1e9

    def check(self) -> None:
        """Raise LoopStopped if the client or the server has exited."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                log = self._logs[name]
                log.seek(0)
                said = log.read().strip()[-400:] or "nothing on stderr"
                raise LoopStopped(f"the {name} exited with status {proc.returncode}: {said}")

    def close(self) -> None:
        for proc in self.procs.values():
            proc.kill()
            proc.wait()
        self._count.release()
        self._map.close()
        for log in self._logs.values():
            log.close()


class Windows:
    """Windows of the running loop, the TLS probe attached for A and K and detached
    for B; in K windows the data records are read and dropped unparsed."""

    def __init__(self, sensor: Sensor, loop: Loop, seconds: float, deadline: float):
        self.sensor, self.loop, self.seconds, self.deadline = sensor, loop, seconds, deadline
        self.tls = next(p for p in sensor.collector._probes if p.name == "tls")
        self._payload = next(p for p in sensor.collector._probes if p.name == "payload")
        self._poll_clock = time.pthread_getcpuclockid(sensor._thread.ident)

    def run(self, mode: str) -> Window:
        with self.sensor._lock:
            self._read_records(mode != K)   # B parses too: it is the sensor as it is, less the uprobes
            if mode != B:
                self.tls.attach(self.sensor._bpf)
        start = self.reading()
        self._wait(self.seconds)
        if mode == B:
            return self._checked(Window.between(B, start, self.reading()))
        detaching = self.mark()
        begun = self.sensor.between_polls(lambda: self.tls.detach(self.sensor._bpf))
        detached = self.mark()
        if not self.sensor.wait_poll_after(begun):
            raise LoopStopped("the sensor did not catch up within 5 s of the detach")
        return self._checked(Window.between(mode, start, self.reading(), pause=(detaching, detached)))

    def _read_records(self, parse: bool) -> None:
        """Bench-only reach-in: the payload probe parses the data records (A, B), or the
        collector drops them as soon as it has read them off the ring (K)."""
        if parse:
            self._payload.__dict__.pop("parse", None)
        else:
            self._payload.parse = lambda _raw: []   # what parse gives for a record with no event

    def mark(self) -> Mark:
        return Mark(time.monotonic(), self.loop.requests())

    def reading(self) -> Reading:
        with self.sensor._lock:
            records, seen = self.sensor.collector.stats()["records"], self.sensor.llm_requests
        return Reading(time.monotonic(), self.loop.requests(), time.clock_gettime(self._poll_clock),
                       records, seen, self.loop.client_cpu())

    @staticmethod
    def _checked(window: Window) -> Window:
        if window.requests == 0:
            raise LoopStopped(f"the client completed no request in a {window.seconds:.2f} s window")
        return window

    def _wait(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.loop.check()
            if time.monotonic() > self.deadline:
                raise LoopStopped("the bench ran past its time limit")
            time.sleep(min(left, 0.05))
        self.loop.check()


def spread(values: list[float], fmt: str = ".3f") -> str:
    return f"{statistics.median(values):{fmt}} [{min(values):{fmt}}–{max(values):{fmt}}]"


def print_round(i: int, round_: dict[str, Window]) -> None:
    a, b, k = round_[A], round_[B], round_[K]
    print(f"round {i} ({'/'.join(round_)}): uprobes {a.rate:,.0f} req/s  no-uprobes {b.rate:,.0f}  "
          f"unread {k.rate:,.0f}  A/B {a.rate / b.rate:.3f}  K/B {k.rate / b.rate:.3f}  "
          f"model calls seen {a.seen}/{a.span} requests (B {b.seen}, K {k.seen})  "
          f"records/request {a.records_per_request:.2f}/{b.records_per_request:.2f}/{k.records_per_request:.2f}  "
          f"sensor CPU µs/request {a.cpu_us_per_request:.0f}/{b.cpu_us_per_request:.0f}/{k.cpu_us_per_request:.0f}  "
          f"client CPU µs/request {a.client_us_per_request:.0f}/{b.client_us_per_request:.0f}/"
          f"{k.client_us_per_request:.0f}", flush=True)


def print_summary(rounds: list[dict[str, Window]], seconds: float) -> None:
    by_mode = {mode: [r[mode] for r in rounds] for mode in (A, B, K)}
    pair_ratios = ratios(rounds)
    q1, q3 = quartiles(pair_ratios)
    slowdown = 1 - statistics.median(pair_ratios)
    print(f"\nsummary, {len(rounds)} rounds of {seconds:g} s windows in one client and one server process "
          "(median [min–max]):")
    print(f"  A uprobes      {spread([w.rate for w in by_mode[A]], ',.0f')} requests/s over "
          f"{spread([w.seconds for w in by_mode[A]], '.2f')} s (the sensor's catch-up in it; the detach "
          f"call, {spread([w.paused * 1e3 for w in by_mode[A]], '.0f')} ms, left out)")
    print(f"  B no uprobes   {spread([w.rate for w in by_mode[B]], ',.0f')} requests/s over "
          f"{spread([w.seconds for w in by_mode[B]], '.2f')} s")
    print(f"  K unread       {spread([w.rate for w in by_mode[K]], ',.0f')} requests/s")
    print(f"  ratio A/B      {spread(pair_ratios)}, interquartile range {q1:.3f}–{q3:.3f}  "
          f"(slowdown {slowdown:.1%}, interquartile range {1 - q3:.1%} to {1 - q1:.1%})")
    kernel = ratios(rounds, K)
    k1, k3 = quartiles(kernel)
    print(f"  ratio K/B      {spread(kernel)}, interquartile range {k1:.3f}–{k3:.3f}  (the kernel side "
          f"alone: slowdown {1 - statistics.median(kernel):.1%}, interquartile range {1 - k3:.1%} to {1 - k1:.1%}; "
          f"the sensor's Python the rest)")
    added = {mode: [r[mode].client_us_per_request - r[B].client_us_per_request for r in rounds] for mode in (A, K)}
    print(f"  client CPU added per request, paired by round: uprobes {spread(added[A], '.1f')} µs, "
          f"unread {spread(added[K], '.1f')} µs (the traps and programs run in the client's own time)")
    span, seen = sum(w.span for w in by_mode[A]), sum(w.seen for w in by_mode[A])
    probed, missed = sum(w.probed for w in by_mode[A]), sum(w.missed for w in by_mode[A])
    print(f"  model calls the sensor delivered: in A windows {seen:,} for the {span:,} requests completed "
          f"in them, {probed:,} of those before the detach began; in B windows {sum(w.seen for w in by_mode[B]):,}")
    if missed:
        print(f"  PROBLEM: {missed:,} requests completed before a detach were not seen (beyond the one "
              f"each window may open in the middle of), in {sum(w.missed > 0 for w in by_mode[A])} A windows")
    for mode, windows in by_mode.items():
        print(f"  {mode + ':':16s} kernel records/request {spread([w.records_per_request for w in windows], '.2f')}, "
              f"sensor CPU µs/request {spread([w.cpu_us_per_request for w in windows], '.1f')}, "
              f"client CPU µs/request {spread([w.client_us_per_request for w in windows], '.1f')}")
    print(f"  target ≤ {TARGET:.0%} slowdown: {verdict(pair_ratios, TARGET)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, help="rounds of windows, A, B and K (default 30; 10 with --quick)")
    ap.add_argument("--window", type=float, default=2.0,
                    help="seconds of each window (A and K windows add the detach and the sensor's catch-up)")
    ap.add_argument("--quick", action="store_true", help="a short run: 10 rounds")
    ap.add_argument("--nice", type=int, default=YIELD_NICE,
                    help=f"the sensor's yield_nice (default {YIELD_NICE}, the product's; 0: full priority)")
    args = ap.parse_args()
    rounds = args.rounds or (10 if args.quick else 30)
    if problems := preflight():
        print("agent_sight: cannot run:", "; ".join(problems))
        return 0
    parent = cgroupfs.v2_mount() / f"weft-bench-sight-{os.getpid()}"
    cgroup, outside = parent / "agent", parent / "model-api"
    work = Path(tempfile.mkdtemp(prefix="weft-bench-sight-"))
    sensor = loop = None
    behind = 0
    done: list[dict[str, Window]] = []
    stopped = False
    try:
        for cg in (parent, cgroup, outside):
            cg.mkdir()
        cert, key = make_cert(work)
        server_env = own_libssl(work)
        loop = Loop(work)
        sensor = Sensor(EbpfConfig(node=event_pb2.Node(name="bench"), watch_cgroups=[str(cgroup)],
                                   yield_nice=args.nice))
        windows = Windows(sensor, loop, args.window, time.monotonic() + 60 + rounds * (3 * args.window + 5))
        print(f"TLS probe attached to {', '.join(windows.tls.libraries) or 'nothing'}")
        sensor.between_polls(lambda: windows.tls.detach(sensor._bpf))
        loop.start(cgroup, outside, server_env, cert, key)
        windows.run(A), windows.run(B)   # warm-up, not counted
        for i in range(rounds):
            done.append({mode: windows.run(mode) for mode in order(i)})
            print_round(i, done[-1])
    except LoopStopped as e:
        print(f"agent_sight: stopped after {len(done)} rounds: {e}")
        stopped = True
    finally:
        if loop:
            loop.close()
        if sensor:
            behind = sensor.collector.stats()["times_behind"]
            sensor.close()
        remove_cgroups(cgroup, outside, parent)
        shutil.rmtree(work, ignore_errors=True)
    if done:
        print_summary(done, args.window)
        print(f"  the sensor's poll thread: yield_nice {args.nice}, fell behind {behind} times")
    return 1 if stopped else 0


if __name__ == "__main__":
    sys.exit(main())
