"""What a hook costs a workload besides the program it runs: a tracepoint hit's
dispatch, a uprobe's trap, and a uprobe with a return probe on the same function
(an SSL_read's: two traps). sensor_realistic adds these, times the hits it counted,
to the time the kernel measured inside the sensor's programs.

Each is taken from a C loop whose one operation the hook sits on, with an empty
program attached against none, interleaved in rounds whose order rotates: a call
to a do-nothing function that begins with a push, as the functions the TLS probe
goes on do (x86-64; a single-stepped instruction costs ~10x more), and getppid(2) (a syscall's entry and exit
tracepoints: two hits per call). The loop's CPU time per operation, attached minus
bare; the hook dominates the operation, so a shared machine's ±20 % moves the
figure by about that share of itself. The empty programs' own run is included (a
few ns: the figures read slightly high)."""
from __future__ import annotations

import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

from weft.sensor.compiling import compile_bpf
from weft.sensor.errors import default_build_dir, kernel_headers

from bench._sensor import children_cpu

LOOP = r"""
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
// Begins with a push, as the functions the TLS probe goes on do (sight/libssl.py):
// the kernel emulates it rather than single-stepping it out of line.
long traced(long x);
__asm__(".text\n.globl traced\n.type traced, @function\ntraced:\n"
        "push %rbp\nlea 1(%rdi), %rax\npop %rbp\nret\n");
int main(int argc, char **argv) {
    long n = atol(argv[2]), s = 0;
    int calls = argv[1][0] == 'c';
    for (long i = 0; i < n; i++)
        s += calls ? traced(i) : syscall(SYS_getppid);
    printf("%ld\n", s);
    return 0;
}
"""

PROGRAMS = b"""
int hooked(void *ctx) { return 0; }
TRACEPOINT_PROBE(syscalls, sys_enter_getppid) { return 0; }
TRACEPOINT_PROBE(syscalls, sys_exit_getppid) { return 0; }
"""
CALLS, SYSCALLS = 300_000, 300_000


@dataclass(frozen=True)
class HookCosts:
    dispatch: float      # s per tracepoint hit
    uprobe: float        # s per uprobe hit
    uprobe_return: float # s per call with a uprobe and a return probe (both traps)

    def of(self, tracepoint_hits: float, uprobe_calls: float, returning_calls: float) -> float:
        """Seconds these hits cost besides their programs."""
        return (tracepoint_hits * self.dispatch + uprobe_calls * self.uprobe
                + returning_calls * self.uprobe_return)


def measure(work: Path, rounds: int) -> HookCosts:
    source, binary = work / "hooked.c", work / "hooked"
    source.write_text(LOOP)
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(source)], check=True)
    headers = kernel_headers(default_build_dir())
    bpf = compile_bpf(PROGRAMS, headers.cflags, headers.source)
    tps = sorted(bpf.tracepoint_fds)
    for tp in tps:
        bpf.detach_tracepoint(tp=tp)
    hooks = {
        "tracepoints": (lambda: _tracepoints(bpf, tps, True), lambda: _tracepoints(bpf, tps, False)),
        "uprobe": (lambda: bpf.attach_uprobe(name=str(binary).encode(), sym=b"traced", fn_name=b"hooked"),
                   lambda: bpf.detach_uprobe(name=str(binary).encode(), sym=b"traced")),
    }
    hooks["uprobe+return"] = (
        lambda: (hooks["uprobe"][0](), bpf.attach_uretprobe(name=str(binary).encode(), sym=b"traced",
                                                            fn_name=b"hooked")),
        lambda: (hooks["uprobe"][1](), bpf.detach_uretprobe(name=str(binary).encode(), sym=b"traced")))
    extra = {name: [] for name in hooks}
    try:
        for i in range(rounds):
            for name in list(hooks)[i % 3:] + list(hooks)[:i % 3]:
                what, n = ("syscalls", SYSCALLS) if name == "tracepoints" else ("calls", CALLS)
                attach, detach = hooks[name]
                bare = _cpu(binary, what, n) if i % 2 == 0 else None
                attach()
                try:
                    hooked = _cpu(binary, what, n)
                finally:
                    detach()
                if bare is None:
                    bare = _cpu(binary, what, n)
                extra[name].append((hooked - bare) / n)
    finally:
        bpf.cleanup()
    return HookCosts(dispatch=max(statistics.median(extra["tracepoints"]) / 2, 0.0),
                     uprobe=max(statistics.median(extra["uprobe"]), 0.0),
                     uprobe_return=max(statistics.median(extra["uprobe+return"]), 0.0))


def _tracepoints(bpf, tps: list[bytes], on: bool) -> None:
    for tp in tps:
        if on:
            category, event = tp.split(b":")
            bpf.attach_tracepoint(tp=tp, fn_name=b"tracepoint__" + category + b"__" + event)
        else:
            bpf.detach_tracepoint(tp=tp)


def _cpu(binary: Path, what: str, n: int) -> float:
    before = children_cpu()
    subprocess.run([str(binary), what, str(n)], check=True, capture_output=True)
    return children_cpu() - before
