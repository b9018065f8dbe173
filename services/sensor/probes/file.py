"""File opens under configured path prefixes — bpf/file.c.

The prefixes are compared in the kernel (a small array map, 8 bytes at a time),
and repeated opens of one file by one process with the same flags are counted
there, under a key holding the path's length and fingerprint (the path itself is
in the map's value, with what else the first occurrence's record said, and in
that record). A thread's repeats of one tick may wait in its task storage before
they reach the map (bpf/file.c); file_task_ends hands them over when the thread
execs or exits.
"""

from __future__ import annotations

import ctypes
import functools
import struct
from typing import Any

from weft.v1 import event_pb2

from . import EV_FILE, EV_FILE_SOLO, HEADER, Probe, attach_by_hand, close_links, register

FILE_KEY = struct.Struct("<IIQQII")   # tgid, flags, cgroup_id, fingerprint, path length, pad
PATH_LEN = 256
N_PREFIXES, PREFIX_WORDS = 8, 8       # as in bpf/file.c
PREFIX_LEN = 8 * PREFIX_WORDS
# struct file_value: struct agg (count, first_ts, last_ts, tick, gen), uid, comm, path
FILE_VALUE = struct.Struct(f"<QQQQI4xI4x16s{PATH_LEN}s")
ACCESS = {0: "O_RDONLY", 1: "O_WRONLY", 2: "O_RDWR"}
FLAGS = [  # Linux generic/x86 values
    (0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"), (0o4000, "O_NONBLOCK"), (0o10000, "O_DSYNC"),
    (0o40000, "O_DIRECT"), (0o100000, "O_LARGEFILE"), (0o200000, "O_DIRECTORY"),
    (0o400000, "O_NOFOLLOW"), (0o1000000, "O_NOATIME"), (0o2000000, "O_CLOEXEC"),
    (0o4000000, "O_SYNC"), (0o10000000, "O_PATH"), (0o20000000, "O_TMPFILE"),
]


def open_flags(flags: int) -> list[str]:
    return [ACCESS.get(flags & 3, "O_ACCMODE")] + [n for bit, n in FLAGS if flags & bit]


@functools.lru_cache(maxsize=1024)  # a node opens files with a few dozen flag values
def _flagged(flags: int) -> event_pb2.File:
    """A File with these flags' names, copied into events (a copy costs less than
    adding the names one by one); never changed."""
    return event_pb2.File(flags=open_flags(flags))


# Attached by hand: exec.c's TRACEPOINT_PROBE holds bcc's one link for sched_process_exit.
TASK_ENDS = ("sched:sched_process_exit", "sched:sched_process_exec")

FP_MULTIPLIER, MASK64 = 0x9E3779B97F4A7C15, (1 << 64) - 1


def fingerprint(path: bytes, seed: int) -> int:
    """The kernel's fingerprint of a path (its bytes before the NUL), as bpf/file.c
    computes it with FILE_FP_SEED = seed."""
    h = seed ^ len(path)
    for (word,) in struct.iter_unpack("<Q", path + bytes(-len(path) % 8)):
        h = ((h ^ word) * FP_MULTIPLIER) & MASK64
        h ^= h >> 29
    return h


def prefix_words(prefix: bytes) -> tuple[list[int], list[int]]:
    """A prefix as bpf/file.c compares it: little-endian 8-byte words, and the mask
    of each word's bytes that belong to the prefix."""
    padded = prefix.ljust(PREFIX_LEN, b"\0")
    words = list(struct.unpack(f"<{PREFIX_WORDS}Q", padded))
    masks = [(1 << 8 * max(0, min(8, len(prefix) - 8 * i))) - 1 for i in range(PREFIX_WORDS)]
    n = (len(prefix) + 7) // 8
    return words[:n], masks[:n]


@register
class FileProbe(Probe):
    name = "file"
    event_types = (EV_FILE, EV_FILE_SOLO)
    agg_maps = ("file_agg",)

    def __init__(self):
        self._links: list[int] = []   # perf event fds of the TASK_ENDS tracepoints

    def configure(self, bpf: Any, config: Any) -> None:
        prefixes = list(config.file_prefixes)
        if len(prefixes) > N_PREFIXES:
            raise ValueError(f"at most {N_PREFIXES} file prefixes, got {len(prefixes)}")
        table = bpf[b"file_prefixes"]
        for i, prefix in enumerate(prefixes):
            raw = prefix.encode()
            if not raw or len(raw) >= PREFIX_LEN:
                raise ValueError(f"file prefix must be 1..{PREFIX_LEN - 1} bytes: {prefix!r}")
            words, masks = prefix_words(raw)
            leaf = table.Leaf()
            leaf.nwords = len(words)
            for j, (word, mask) in enumerate(zip(words, masks)):
                leaf.word[j], leaf.mask[j] = word, mask
            table[ctypes.c_int(i)] = leaf

    def attach(self, bpf: Any) -> None:
        self._links += attach_by_hand(bpf, "file_task_ends", TASK_ENDS)

    def detach(self, bpf: Any) -> None:
        close_links(self._links)

    def parse(self, raw: bytes) -> event_pb2.RuntimeEvent | None:
        ev = self.maker.make(raw, event_pb2.RuntimeEvent.FILE_OPEN)
        _tgid, flags, _cg, _fp, length, _pad = FILE_KEY.unpack_from(raw, HEADER.size)
        start = HEADER.size + FILE_KEY.size
        _fill(ev, flags, raw[start:start + length])
        return ev

    def agg_key(self, raw: bytes) -> tuple[str, bytes] | None:
        if raw[0] == EV_FILE_SOLO:   # counted on its own, never in the map
            return None
        return "file_agg", raw[HEADER.size:HEADER.size + FILE_KEY.size]

    def record_of(self, map_name: str, key: bytes, value: bytes) -> bytes | None:
        tgid, _flags, cg, _fp, _length, _pad = FILE_KEY.unpack(key)
        _count, first_ts, _last, _tick, _gen, uid, comm, path = FILE_VALUE.unpack(value)
        return HEADER.pack(EV_FILE, tgid, tgid, uid, cg, first_ts, comm) + key + path


def _fill(ev: event_pb2.RuntimeEvent, flags: int, path: bytes) -> None:
    """path: the path's bytes without its NUL."""
    f = ev.file
    f.CopyFrom(_flagged(flags))
    f.path = path.decode(errors="replace")
