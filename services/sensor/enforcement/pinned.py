"""One policy's kernel objects, pinned in bpffs under <pin_root>/<policy>/.

build() compiles bpf/enforce.c, loads its programs with their expected attach types,
pins every program and map, and lets bcc go: from then on the pins hold the objects,
and this process and a restarted one reach them the same way, through PinnedSet.open.
"""
from __future__ import annotations

import ctypes as ct
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SensorUnavailable, default_build_dir, kernel_headers
from ..probes import BPF_DIR
from . import layout
from .libbpf import Map, info, obj_get, obj_pin

# bcc's BPF.CGROUP_SOCK_ADDR / CGROUP_SKB and BPFAttachType values (UAPI enums).
SOCK_ADDR, SKB = 18, 8
ATTACH = {"connect4": 10, "connect6": 11, "sendmsg4": 14, "sendmsg6": 15, "learn_dns": 0}
PROG_TYPES = {"connect4": SOCK_ADDR, "connect6": SOCK_ADDR, "sendmsg4": SOCK_ADDR,
              "sendmsg6": SOCK_ADDR, "learn_dns": SKB, "learn_answer": SKB}
TAIL = "learn_answer"       # reached from learn_dns through the learn_next program array
MAPS = {  # name -> (key, value); value None: read through other means or never
    "cidrs": (layout.PrefixKey, layout.Mask), "resolved": (layout.AddrKey, layout.AddrVal),
    "learned": (layout.AddrKey, layout.AddrVal), "names": (layout.NameKey, layout.Mask),
    "resolvers": (layout.AddrKey, layout.Flag), "classes": (layout.Index, layout.PortClass),
    "config": (layout.Index, layout.Config), "meta": (layout.Index, layout.MetaBlob),
    "counters": (layout.Index, None), "decisions": (None, None), "learn_next": (layout.Index, None),
}


@dataclass
class PinnedSet:
    directory: Path
    progs: dict[str, int] = field(default_factory=dict)    # name -> fd
    maps: dict[str, Map] = field(default_factory=dict)

    @classmethod
    def open(cls, directory: Path) -> PinnedSet:
        """Every object of a complete pin directory (OSError when one is missing)."""
        pinned = cls(directory)
        try:
            for name in PROG_TYPES:
                pinned.progs[name] = obj_get(str(directory / f"prog_{name}"))
            for name, (key, value) in MAPS.items():
                table = Map(obj_get(str(directory / f"map_{name}")), key, value)
                pinned.maps[name] = table
                _check_sizes(name, table)
                if name == "counters":
                    table.value_type = _percpu_u64()
        except BaseException:
            pinned.close()
            raise
        return pinned

    def prog_id(self, name: str) -> int:
        return info(self.progs[name])[1]

    def close(self) -> None:
        for fd in self.progs.values():
            os.close(fd)
        for m in self.maps.values():
            m.close()
        self.progs, self.maps = {}, {}


def _check_sizes(name: str, table: Map) -> None:
    """Keys and values as this sensor's layout has them, or the map is not read at all
    (a lookup writes value_size bytes into the buffer it is given)."""
    _type, _id, key_size, value_size = info(table.fd)
    expected = (ct.sizeof(table.key_type) if table.key_type else key_size,
                ct.sizeof(table.value_type) if table.value_type else value_size)
    if name == "counters":
        expected = (expected[0], 8)
    if (key_size, value_size) != expected:
        raise ValueError(f"map {name}: key/value of {key_size}/{value_size} bytes, this sensor's "
                         f"layout has {expected[0]}/{expected[1]}")


def _percpu_u64() -> type:
    from bcc.utils import get_possible_cpus

    return ct.c_uint64 * len(get_possible_cpus())


def build(directory: Path, build_dir: str | None = None) -> None:
    """Compile, load and pin one policy's programs and maps into `directory` (new)."""
    bpf = _compile(build_dir or default_build_dir())
    try:
        directory.mkdir(parents=True)
        fds = _load(bpf)
        bpf[b"learn_next"][ct.c_int(0)] = ct.c_int(fds[TAIL])
        for name, fd in fds.items():
            obj_pin(fd, str(directory / f"prog_{name}"))
        for name in MAPS:
            obj_pin(bpf[name.encode()].map_fd, str(directory / f"map_{name}"))
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)   # bpffs unlinks pins like files
        raise
    finally:
        bpf.cleanup()


def _load(bpf) -> dict[str, int]:
    try:
        return {name: bpf.load_func(name.encode(), kind, attach_type=ATTACH.get(name, -1)).fd
                for name, kind in PROG_TYPES.items()}
    except Exception as exc:   # bcc raises bare Exception; the verifier's log went to stderr
        raise SensorUnavailable([f"the kernel refused the enforcement programs ({exc})"]) from exc


def _compile(build_dir: str):
    from ..compiling import compile_bpf

    headers = kernel_headers(build_dir)
    if headers is None:
        raise SensorUnavailable([f"kernel headers incomplete or missing at {build_dir}"])
    try:
        return compile_bpf((BPF_DIR / "enforce.c").read_bytes(), [*layout.cflags(), *headers.cflags], headers.source)
    except Exception as exc:
        raise SensorUnavailable([f"the enforcement programs failed to compile ({exc})"]) from exc
