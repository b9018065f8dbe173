"""What the eBPF sensor costs: `python bench/sensor_overhead.py` (root; prints, asserts nothing).

Interleaved A/B runs of two C loops (open+close of one file; connect+accept+close
over loopback) with (a) nothing attached, (b) the floor: a counting-only program
on the same tracepoints, (c) the weft sensor polling on its timer. Then the
collector's CPU at a paced ~1,100 events/s (unique file creations, each one event):
the poll thread's own CPU time (CLOCK_THREAD_CPUTIME_ID) between its polls just
before the paced run and just after its last event arrived, divided by the wall
time between those same two polls, against the issue's target (PACED_TARGET cores).
The uplink is not part of this process and not counted.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from weft.common import cgroupfs
from weft.sensor.ebpf import EbpfCollector, EbpfConfig
from weft.sensor.errors import default_build_dir, kernel_headers, preflight
from weft.sensor.probes import BPF_DIR
from weft.v1 import event_pb2

PACED_RATE, PACED_SECONDS = 1100, 5
PACED_TARGET = 0.03  # cores: the issue's target for the collector at ~1,100 events/s

PROGRAMS = {
    "open_loop": r"""
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = atol(argv[2]);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        int fd = open(argv[1], O_RDONLY);
        if (fd >= 0) close(fd);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%f\n", n / ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9));
    return 0;
}""",
    "connect_loop": r"""
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = atol(argv[1]);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&addr, sizeof(addr));
    listen(l, 64);
    getsockname(l, (struct sockaddr *)&addr, &len);
    struct linger rst = {1, 0};  /* close with RST: no TIME_WAIT, no port exhaustion */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&addr, sizeof(addr))) { perror("connect"); return 1; }
        struct sockaddr_in peer;
        socklen_t plen = sizeof(peer);
        int s = accept(l, (struct sockaddr *)&peer, &plen);
        setsockopt(c, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
        close(c);
        close(s);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%f\n", n / ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9));
    return 0;
}""",
    "paced_creates": r"""
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}
int main(int argc, char **argv) {
    double rate = atof(argv[2]), secs = atof(argv[3]), start = now();
    char name[512];
    long n = (long)(rate * secs);
    for (long i = 0; i < n; i++) {
        double wait = start + i / rate - now();
        if (wait > 0) {
            struct timespec t = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
            nanosleep(&t, NULL);
        }
        snprintf(name, sizeof(name), "%s/p%ld", argv[1], i);
        int fd = open(name, O_CREAT | O_WRONLY, 0600);
        if (fd >= 0) close(fd);
        unlink(name);
    }
    printf("%f\n", n / (now() - start));
    return 0;
}""",
}


def build(work: Path) -> dict[str, Path]:
    out = {}
    for name, source in PROGRAMS.items():
        (work / f"{name}.c").write_text(source)
        subprocess.run(["gcc", "-O2", "-o", str(work / name), str(work / f"{name}.c")], check=True)
        out[name] = work / name
    return out


def tracepoints() -> list[tuple[str, str]]:
    """Every tracepoint the sensor attaches to: bcc's TRACEPOINT_PROBEs, and the
    payload probe's, attached by hand (the same tracepoint once)."""
    from weft.sensor.probes.payload import TRACEPOINTS
    text = "".join(p.read_text() for p in sorted(BPF_DIR.glob("*.c")))
    found = re.findall(r"TRACEPOINT_PROBE\((\w+), (\w+)\)", text)
    found += [tuple(tp.split(":")) for tp, _fn in TRACEPOINTS]
    return sorted(set(found))


@contextmanager
def floor():
    """The same tracepoints, each only counting: what attaching alone costs."""
    import bcc

    body = "BPF_PERCPU_ARRAY(hits, u64, 1);\n" + "".join(
        f"TRACEPOINT_PROBE({c}, {e}) {{ int z = 0; u64 *v = hits.lookup(&z); "
        f"if (v) (*v)++; return 0; }}\n" for c, e in tracepoints())
    headers = kernel_headers(default_build_dir())
    os.environ["BCC_KERNEL_SOURCE"] = headers.source
    bpf = bcc.BPF(text=body.encode(), cflags=headers.cflags)
    try:
        yield None
    finally:
        bpf.cleanup()


class PollState:
    """What the poll thread has done so far: events received, and its own CPU time and
    the wall clock as of its last poll (both read in the thread, after that poll)."""

    def __init__(self) -> None:
        self.received, self.cpu, self.wall, self.polls = 0, 0.0, time.monotonic(), 0
        self.changed = threading.Condition()

    def after_poll(self, n: int) -> None:
        with self.changed:
            self.received += n
            self.cpu, self.wall, self.polls = time.thread_time(), time.monotonic(), self.polls + 1
            self.changed.notify_all()

    def snapshot(self, after_polls: int = 1) -> tuple[int, float, float, int]:
        """(received, thread CPU, wall, polls) as of a poll that ends after this call."""
        with self.changed:
            target = self.polls + after_polls
            self.changed.wait_for(lambda: self.polls >= target, timeout=5)
            return self.received, self.cpu, self.wall, self.polls


@contextmanager
def sensor(config: EbpfConfig):
    """The weft sensor, polled on its timer in a thread, as `collect()` does."""
    collector = EbpfCollector(config)
    collector.start()
    stop, state = threading.Event(), PollState()

    def loop():
        while not stop.is_set():
            state.after_poll(len(collector.poll()))
            time.sleep(config.flush_interval)
        state.after_poll(len(collector.poll()))

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        yield collector, state
    finally:
        stop.set()
        thread.join()
        collector.close()


@contextmanager
def nothing():
    yield None


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(cgroup: Path, argv: list[str]) -> float:
    wrapped = ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(cgroup), *argv]
    return float(subprocess.run(wrapped, check=True, capture_output=True, text=True).stdout)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.3f} ({min(values):.3f}–{max(values):.3f})"


def paced(config: EbpfConfig, cgroup: Path, program: Path, directory: Path) -> None:
    """The collector's CPU per second while ~PACED_RATE unique events/s arrive."""
    with sensor(config) as (collector, state):
        time.sleep(0.3)  # past start-up (the first polls, /proc reads)
        n0, cpu0, wall0, _ = state.snapshot()
        proc0 = cpu()
        rate = run(cgroup, [str(program), str(directory), str(PACED_RATE), str(PACED_SECONDS)])
        expected = int(PACED_RATE * PACED_SECONDS)
        deadline = time.monotonic() + 2
        while True:  # until the poll that delivers the run's last event (or 2 s)
            n1, cpu1, wall1, _ = state.snapshot()
            if n1 - n0 >= expected or time.monotonic() > deadline:
                break
        proc = cpu() - proc0
        window, used, got = wall1 - wall0, cpu1 - cpu0, n1 - n0
        cores = used / window
        print(f"\npaced: {rate:,.0f} creates/s for {PACED_SECONDS} s; {got:,} events delivered "
              f"in a {window:.2f} s window ({got / window:,.0f} events/s); "
              f"lost {collector.stats()['events_lost']}")
        print(f"  collector (poll thread) CPU {used:.3f} s = {cores:.4f} cores "
              f"({used / max(got, 1) * 1e6:.1f} µs per event); whole bench process "
              f"{proc / window:.4f} cores (includes starting the paced program)")
        verdict = "met" if cores < PACED_TARGET else "NOT met"
        print(f"  target: collector under {PACED_TARGET} cores at ~{PACED_RATE:,} events/s: "
              f"{verdict} ({cores:.4f}; uplink not included)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--opens", type=int, default=1_000_000)
    ap.add_argument("--connects", type=int, default=60_000)
    args = ap.parse_args()
    if problems := preflight():
        print("sensor_overhead: cannot run:", "; ".join(problems))
        return 0
    cg_root = cgroupfs.v2_mount()
    cgroup = cg_root / f"weft-bench-{os.getpid()}"
    cgroup.mkdir()
    work = Path(tempfile.mkdtemp(prefix="weft-bench-"))
    target = work / "data" / "hot"
    target.parent.mkdir()
    target.write_text("x")
    try:
        bins = build(work)
        config = EbpfConfig(node=event_pb2.Node(name="bench"), watch_cgroups=[str(cgroup)],
                            file_prefixes=[f"{target.parent}/"])
        loops = {"open": [str(bins["open_loop"]), str(target), str(args.opens)],
                 "connect": [str(bins["connect_loop"]), str(args.connects)]}
        ops = {(w, m): [] for w in loops for m in ("bare", "floor", "sensor")}
        sensor_cpu = {w: [] for w in loops}
        lost = 0
        for pair in range(args.pairs):
            modes = [("bare", nothing), ("floor", floor), ("sensor", lambda: sensor(config))]
            if pair % 2:
                modes.reverse()  # alternate the order: drift does not favour one mode
            for mode, ctx in modes:
                with ctx() as handle:
                    for workload, argv in loops.items():
                        before = cpu()
                        ops[(workload, mode)].append(run(cgroup, argv))
                        if mode == "sensor":
                            n = args.opens if workload == "open" else args.connects
                            sensor_cpu[workload].append((cpu() - before) / n * 1e6)
                    if mode == "sensor":
                        lost += handle[0].stats()["events_lost"]
            print(f"pair {pair + 1}/{args.pairs} done", file=sys.stderr)

        print(f"\nweft sensor overhead, {args.pairs} interleaved pairs "
              f"(median, min–max); {os.cpu_count()} CPUs\n")
        for workload in loops:
            bare = ops[(workload, "bare")]
            print(f"{workload}: bare {statistics.median(bare):,.0f} ops/s")
            for mode in ("floor", "sensor"):
                ratios = [m / b for m, b in zip(ops[(workload, mode)], bare)]
                print(f"  {mode:6s} {statistics.median(ops[(workload, mode)]):>10,.0f} ops/s"
                      f"   ratio to bare {spread(ratios)}")
            to_floor = [m / f for m, f in zip(ops[(workload, "sensor")], ops[(workload, "floor")])]
            print(f"  sensor / floor, same pair: {spread(to_floor)}"
                  + (f"   (target: within 10 % of the floor: "
                     f"{'met' if statistics.median(to_floor) >= 0.9 else 'NOT met'})"
                     if workload == "open" else ""))
            print(f"  sensor CPU per million {workload}s: {spread(sensor_cpu[workload])} s")
        print(f"events lost (ring buffer full), all sensor runs: {lost}")

        paced(config, cgroup, bins["paced_creates"], target.parent)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        for _ in range(50):
            try:
                cgroup.rmdir()
                break
            except OSError:
                time.sleep(0.1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
