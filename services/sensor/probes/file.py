"""File opens under configured path prefixes — bpf/file.c.

The prefixes are compared in the kernel (a small array map), and repeated opens
of one file by one process with the same flags are counted there.
"""

from __future__ import annotations

import ctypes
import functools
import struct
from typing import Any

from weft.v1 import event_pb2

from . import EV_FILE, HEADER, Header, Probe, cstr, record_event, register

FILE_KEY = struct.Struct("<IIQ256s")  # tgid, flags, cgroup_id, path
N_PREFIXES, PREFIX_LEN = 8, 64        # as in bpf/file.c
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
def _flag_names(flags: int) -> tuple[str, ...]:
    return tuple(open_flags(flags))


@register
class FileProbe(Probe):
    name = "file"
    event_types = (EV_FILE,)
    agg_maps = ("file_agg",)

    def configure(self, bpf: Any, config: Any) -> None:
        prefixes = list(config.file_prefixes)
        if len(prefixes) > N_PREFIXES:
            raise ValueError(f"at most {N_PREFIXES} file prefixes, got {len(prefixes)}")
        table = bpf[b"file_prefixes"]
        for i, prefix in enumerate(prefixes):
            raw = prefix.encode()
            if not raw or len(raw) >= PREFIX_LEN:
                raise ValueError(f"file prefix must be 1..{PREFIX_LEN - 1} bytes: {prefix!r}")
            leaf = table.Leaf()
            leaf.len = len(raw)
            leaf.s = raw
            table[ctypes.c_int(i)] = leaf

    def parse(self, raw: bytes) -> event_pb2.RuntimeEvent | None:
        ev = record_event(raw, event_pb2.RuntimeEvent.FILE_OPEN)
        _tgid, flags, _cg, path = FILE_KEY.unpack_from(raw, HEADER.size)
        _fill(ev, flags, path)
        return ev

    def agg_key(self, raw: bytes) -> tuple[str, bytes] | None:
        return "file_agg", raw[HEADER.size:HEADER.size + FILE_KEY.size]

    def from_key(self, map_name: str, key: bytes) -> event_pb2.RuntimeEvent | None:
        tgid, flags, cg, path = FILE_KEY.unpack(key)
        ev = Header(EV_FILE, tgid, tgid, 0, cg, 0, "").event(event_pb2.RuntimeEvent.FILE_OPEN)
        _fill(ev, flags, path)
        return ev


def _fill(ev: event_pb2.RuntimeEvent, flags: int, path: bytes) -> None:
    f = ev.file
    f.path = cstr(path)
    f.flags.extend(_flag_names(flags))
