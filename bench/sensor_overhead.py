"""What the eBPF sensor costs: `python bench/sensor_overhead.py` (root; prints, asserts nothing).

Interleaved A/B runs of two C loops (open+close of one file; connect+accept+close
over loopback) with (a) nothing attached, (b) the floor: a counting-only program
on the same tracepoints, (c) the weft sensor polling on its timer. Then the
sensor's CPU at a paced ~1,100 events/s (unique file creations, each one event).
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
    text = "".join(p.read_text() for p in sorted(BPF_DIR.glob("*.c")))
    return re.findall(r"TRACEPOINT_PROBE\((\w+), (\w+)\)", text)


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


@contextmanager
def sensor(config: EbpfConfig):
    """The weft sensor, polled on its timer in a thread, as `collect()` does."""
    collector = EbpfCollector(config)
    collector.start()
    stop, received = threading.Event(), [0]

    def loop():
        while not stop.is_set():
            received[0] += len(collector.poll())
            time.sleep(config.flush_interval)
        received[0] += len(collector.poll())

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        yield collector, received
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
            print(f"  sensor CPU per million {workload}s: {spread(sensor_cpu[workload])} s")
        print(f"events lost (ring buffer full), all sensor runs: {lost}")

        with sensor(config) as (collector, received):
            time.sleep(0.3)
            start_cpu, start_wall, start_n = cpu(), time.monotonic(), received[0]
            rate = run(cgroup, [str(bins["paced_creates"]), str(target.parent), "1100", "5"])
            time.sleep(0.3)  # the last poll
            wall = time.monotonic() - start_wall
            used = cpu() - start_cpu
            got = received[0] - start_n
            print(f"\npaced: {rate:,.0f} creates/s for 5 s -> {got / wall:,.0f} events/s "
                  f"delivered; sensor CPU {used / wall:.3f} cores "
                  f"({used / max(got, 1) * 1e6:.0f} µs per event); "
                  f"lost {collector.stats()['events_lost']}")
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
