"""The syscalls each workload makes while its profile learns — bpf/syscalls.c.

A workload learns for `syscall_learning_s` from when the sensor first sees its cgroup
(the same window as Observe's profiles, configured on both); meanwhile the kernel sets
one bit per syscall number in a per-cgroup bitmap, and every RESCAN_NS this reports a
SYSCALLS event for each cgroup whose set grew. The tracepoint is attached only while
some cgroup learns."""
from __future__ import annotations

import ctypes
import os
import json
import re
from functools import lru_cache
from typing import Any

from weft.v1 import event_pb2

from . import Probe, register, set_ns
from ..attribution import parse_metadata, walk_ids

RESCAN_NS = 2_000_000_000
WORDS = 8
UNISTD = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"


@lru_cache(maxsize=1)
def syscall_names() -> dict[int, str]:
    """x86_64 numbers -> names: the C library's header, else bcc's table."""
    try:
        with open(UNISTD) as f:
            return {int(n): name for name, n in re.findall(r"#define __NR_(\w+)\s+(\d+)", f.read())}
    except OSError:
        from bcc.syscall import syscalls
        return {n: name.decode() for n, name in syscalls.items()}


def names_of(words: list[int]) -> list[str]:
    table = syscall_names()
    return sorted(table.get(i * 64 + b, f"syscall_{i * 64 + b}")
                  for i, w in enumerate(words) for b in range(64) if w >> b & 1)


@register
class SyscallsProbe(Probe):
    name = "syscalls"

    @classmethod
    def enabled(cls, config: Any) -> bool:
        return getattr(config, "syscall_learning_s", 0) > 0

    def __init__(self):
        self._bpf, self._link = None, -1
        self._window_ns, self._metadata, self._roots = 0, None, []
        self._first_seen: dict[int, int] = {}
        self._reported: dict[int, list[str]] = {}
        self._next = 0

    def configure(self, bpf: Any, config: Any) -> None:
        self._window_ns = int(config.syscall_learning_s * 1e9)
        self._metadata, self._roots = config.metadata_file, list(config.watch_cgroups)

    def attach(self, bpf: Any) -> None:
        self._bpf = bpf   # the tracepoint itself only while something learns (tick)

    def detach(self, bpf: Any) -> None:
        self._unlink()

    def tick(self, now_ns: int) -> list[event_pb2.RuntimeEvent]:
        if now_ns < self._next or self._bpf is None:
            return []
        self._next = now_ns + RESCAN_NS
        for cid in self._cgroups():
            self._first_seen.setdefault(cid, now_ns)
        learning = {c for c, t in self._first_seen.items() if now_ns - t < self._window_ns}
        self._sync(learning)
        return self._report(now_ns)

    def _cgroups(self) -> set[int]:
        """The workloads' cgroups (from the metadata file), else the watched subtrees'."""
        roots = self._roots
        if self._metadata:
            try:
                with open(self._metadata) as f:
                    roots = [e.cgroup_path for e in parse_metadata(json.load(f))]
            except (OSError, ValueError):
                pass
        return set(walk_ids(r for r in roots if os.path.isdir(r)))

    def _sync(self, learning: set[int]) -> None:
        table = self._bpf[b"syscall_learning"]
        current = {k.value for k in table.keys()}
        for cid in current - learning:
            del table[ctypes.c_uint64(cid)]
        for cid in learning - current:
            table[ctypes.c_uint64(cid)] = ctypes.c_uint8(1)
        if learning and self._link < 0:
            self._link_tracepoint()
        elif not learning and self._link >= 0:
            self._unlink()

    def _report(self, now_ns: int) -> list[event_pb2.RuntimeEvent]:
        out = []
        for key, bits in self._bpf[b"syscall_bits"].items():
            names = names_of(list(bits.w))
            if names and names != self._reported.get(key.value):
                self._reported[key.value] = names
                ev = event_pb2.RuntimeEvent(kind=event_pb2.RuntimeEvent.SYSCALLS, count=1)
                ev.process.cgroup_id = key.value
                ev.syscalls.names.extend(names)
                set_ns(ev.time, now_ns)
                out.append(ev)
        return out

    def _link_tracepoint(self) -> None:
        from bcc import BPF
        from bcc.libbcc import lib
        prog = self._bpf.load_func(b"syscalls_enter", BPF.TRACEPOINT)
        self._link = lib.bpf_attach_tracepoint(prog.fd, b"raw_syscalls", b"sys_enter")
        if self._link < 0:
            raise OSError("cannot attach to raw_syscalls:sys_enter")

    def _unlink(self) -> None:
        if self._link >= 0:
            from bcc.libbcc import lib
            lib.bpf_close_perf_event_fd(self._link)
            self._link = -1

