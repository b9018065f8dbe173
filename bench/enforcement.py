"""What kernel enforcement costs a connecting agent: `python -m bench --only enforcement`
(root; prints, asserts nothing).

A C loop connects (TCP over loopback, to a listener of its own, closed with RST) in two
sibling cgroups, interleaved pair by pair (AB, BA, AB, ...): A is enforced by a policy
the size of a real agent's (a few dozen CIDRs, names, port classes; the loop's
destination allowed), B is not. Every A connect() passes the connect4 program and every
packet to A's sockets passes the DNS-learning skb program. Figures: connect()/s and the
latency of each connect() call, and the loop's CPU time per connect (the programs run
in its context); target A ≤ 5 % slower than B (KubeArmor reports 1–8 %
for its BPF-LSM enforcer).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from weft.common import cgroupfs
from weft.sensor.errors import preflight

TARGET = 0.95   # A/B connects per second, at least
CONNECT_LOOP = r"""
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}
static double cpu(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_stime.tv_sec + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}
static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
int main(int argc, char **argv) {
    long n = atol(argv[1]);
    double *lat = malloc(n * sizeof(double));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&addr, sizeof(addr));
    listen(l, 64);
    getsockname(l, (struct sockaddr *)&addr, &len);
    struct linger rst = {1, 0};
    double start = now(), cpu0 = cpu();
    for (long i = 0; i < n; i++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        double t0 = now();
        if (connect(c, (struct sockaddr *)&addr, sizeof(addr))) { perror("connect"); return 1; }
        lat[i] = now() - t0;
        int s = accept(l, NULL, NULL);
        setsockopt(c, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
        close(c);
        close(s);
    }
    double rate = n / (now() - start), cpu_us = (cpu() - cpu0) / n * 1e6;
    qsort(lat, n, sizeof(double), cmp);
    printf("%f %f %f %f\n", rate, lat[n / 2] * 1e6, lat[(long)(n * 0.99)] * 1e6, cpu_us);
    return 0;
}
"""


def policy() -> dict:
    """A real agent's size: its model and tool endpoints, databases, a resolver, and the
    loop's own destination (127.0.0.1, any unprivileged TCP port)."""
    tcp = lambda *ps: [{"first": a, "last": b, "protocol": "TCP"} for a, b in ps]   # noqa: E731
    cidrs = [{"cidr": f"10.{i}.0.0/16", "ports": tcp((5432, 5432), (8000, 8100))} for i in range(24)]
    cidrs += [{"cidr": f"172.16.{i}.0/24", "ports": tcp((443, 443))} for i in range(16)]
    cidrs += [{"cidr": "127.0.0.1/32", "ports": tcp((1024, 65535))},
              {"cidr": "192.0.2.10/32", "ports": [{"first": 53, "last": 53, "protocol": "UDP"}]}]
    fqdns = [{"name": f"svc{i}.example.com", "match": "exact", "ports": tcp((443, 443))} for i in range(16)]
    fqdns += [{"name": "zendesk.com", "match": "one_label", "ports": tcp((443, 443))}]
    return {"apiVersion": "weft.dev/v1alpha1", "kind": "SensorPolicy", "metadata": {"name": "bench"},
            "spec": {"mode": "enforce", "agent": {"namespace": "bench"},
                     "egress": {"cidrs": cidrs, "fqdns": fqdns}, "executables": [], "files": []}}


def run(cgroup: Path, argv: list[str]) -> tuple[float, ...]:
    """(connects/s, connect() p50 µs, p99 µs, CPU µs per connect) of one loop in `cgroup`."""
    wrapped = ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(cgroup), *argv]
    out = subprocess.run(wrapped, check=True, capture_output=True, text=True).stdout.split()
    return tuple(float(x) for x in out)


def spread(xs: list[float], fmt: str = ",.0f") -> str:
    return f"{statistics.median(xs):{fmt}} [{min(xs):{fmt}}–{max(xs):{fmt}}]"


def measure(cgroups: dict[str, Path], loop: Path, pairs: int, connects: int) -> list[dict]:
    rows = []
    for i in range(pairs):
        order = ["A", "B"] if i % 2 == 0 else ["B", "A"]
        row = {side: run(cgroups[side], [str(loop), str(connects)]) for side in order}
        rows.append(row)
        a, b = row["A"], row["B"]
        print(f"pair {i + 1} ({''.join(order)}): A {a[0]:>8,.0f} connects/s  B {b[0]:>8,.0f} connects/s  "
              f"A/B {a[0] / b[0]:.3f}  connect() p50/p99 A {a[1]:.1f}/{a[2]:.1f} µs  "
              f"B {b[1]:.1f}/{b[2]:.1f} µs  CPU/connect A {a[3]:.1f} B {b[3]:.1f} µs", flush=True)
    return rows


def summary(rows: list[dict], connects: int) -> None:
    ratio = [r["A"][0] / r["B"][0] for r in rows]
    print(f"\nsummary, {len(rows)} interleaved pairs of {connects:,} connects (median [min–max]):")
    print(f"  A enforced cgroup    {spread([r['A'][0] for r in rows])} connects/s")
    print(f"  B unenforced sibling {spread([r['B'][0] for r in rows])} connects/s")
    print(f"  ratio A/B            {spread(ratio, '.3f')}")
    for side in "AB":
        print(f"  {side} connect() latency p50 {spread([r[side][1] for r in rows], '.1f')} µs"
              f"  p99 {spread([r[side][2] for r in rows], '.1f')} µs"
              f"  CPU per connect {spread([r[side][3] for r in rows], '.2f')} µs")
    print(f"  CPU per connect A/B  {spread([r['A'][3] / r['B'][3] for r in rows], '.3f')}"
          " (less sensitive than wall time to other load on the machine)")
    slower = 1 - statistics.median(ratio)
    print(f"  target A ≤ 5 % slower than B: {'MET' if statistics.median(ratio) >= TARGET else 'NOT MET'}"
          f" ({slower:+.1%} slower at the median)")


def main() -> int:
    ap = argparse.ArgumentParser(prog="bench.enforcement", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=15)
    ap.add_argument("--connects", type=int, default=20_000)
    ap.add_argument("--quick", action="store_true", help="7 pairs of 5,000 connects")
    args = ap.parse_args(sys.argv[1:])
    if args.quick:
        args.pairs, args.connects = 7, 5_000
    if problems := preflight():
        print("enforcement: cannot run:", "; ".join(problems))
        return 0
    from weft.sensor.enforcement import Enforcer

    base = cgroupfs.v2_mount() / f"weft-bench-enf-{os.getpid()}"
    cgroups = {"A": base / "enforced", "B": base / "plain"}
    work = Path(tempfile.mkdtemp(prefix="weft-bench-enf-"))
    enforcer = Enforcer(pin_root=f"/sys/fs/bpf/weft-bench-{os.getpid()}", resolvers=[])
    try:
        for cg in cgroups.values():
            cg.mkdir(parents=True)
        (work / "loop.c").write_text(CONNECT_LOOP)
        subprocess.run(["gcc", "-O2", "-o", str(work / "loop"), str(work / "loop.c")], check=True)
        started = time.monotonic()
        enforcer.apply(policy(), [cgroups["A"]])
        print(f"policy applied in {time.monotonic() - started:.2f} s (compile, verify, pin, attach); "
              f"{os.cpu_count()} CPUs")
        summary(measure(cgroups, work / "loop", args.pairs, args.connects), args.connects)
        counters = enforcer.status()["bench"]["counters"]
        print(f"  kernel counters: {counters['allowed']:,} allowed, {counters['blocked']:,} blocked")
    finally:
        enforcer.remove("bench")
        enforcer.close()
        shutil.rmtree(enforcer.pin_root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
        for cg in [*cgroups.values(), base]:
            if cg.exists():
                cg.rmdir()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
