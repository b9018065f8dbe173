"""The kernel's records, as in bpf/enforce.c: ctypes mirrors of its map keys and values,
the codes it uses, and the build-time sizes passed to it. Changing any of these changes
what a restarted sensor finds pinned: bump LAYOUT with them."""
from __future__ import annotations

import ctypes as ct
import struct

from .allowlist import MAX_RANGES, NAME_MAX, PortSet, Prefix

LAYOUT = 1                # kept with the pins; a sensor adopts only its own layout
META_MAX = 65532          # bytes of policy + cgroups JSON (struct meta_blob is 64 KiB)
CIDR_ENTRIES = 4096
ADDR_ENTRIES = 16384      # resolved and learned addresses, each
NAME_ENTRIES = 1024
DECISION_PAGES = 64       # 256 KiB: ~3,200 decision records between two polls

MODES = {"audit": 1, "enforce": 2}
HOOK_NAMES = {1: "connect4", 2: "connect6", 3: "sendmsg4", 4: "sendmsg6"}
COUNTERS = ("allowed", "audited", "blocked", "resolver", "lost", "learned", "learn_failed",
            "untrusted_dns")

EV_POLICY = 9
DECISION = struct.Struct("<16sHBBB3x")   # after struct hdr: addr, port, proto, verdict, hook


def cflags() -> list[str]:
    return [f"-DMETA_MAX={META_MAX}", f"-DCIDR_ENTRIES={CIDR_ENTRIES}",
            f"-DADDR_ENTRIES={ADDR_ENTRIES}", f"-DNAME_ENTRIES={NAME_ENTRIES}",
            f"-DDECISION_PAGES={DECISION_PAGES}"]


class PrefixKey(ct.Structure):
    _fields_ = [("prefixlen", ct.c_uint32), ("addr", ct.c_uint8 * 16)]


class AddrKey(ct.Structure):
    _fields_ = [("addr", ct.c_uint8 * 16)]


class AddrVal(ct.Structure):
    _fields_ = [("expires", ct.c_uint64), ("classes", ct.c_uint64)]


class PortRangeC(ct.Structure):
    _fields_ = [("first", ct.c_uint16), ("last", ct.c_uint16), ("proto", ct.c_uint8),
                ("pad", ct.c_uint8 * 3)]


class PortClass(ct.Structure):
    _fields_ = [("any", ct.c_uint32), ("n", ct.c_uint32), ("r", PortRangeC * MAX_RANGES)]


class NameKey(ct.Structure):
    _fields_ = [("match", ct.c_uint32), ("name", ct.c_uint8 * NAME_MAX)]


class Config(ct.Structure):
    _fields_ = [("mode", ct.c_uint32), ("min_ttl_s", ct.c_uint32), ("grace_ns", ct.c_uint64)]


class MetaBlob(ct.Structure):
    _fields_ = [("len", ct.c_uint32), ("json", ct.c_char * META_MAX)]


Mask = ct.c_uint32
Flag = ct.c_uint8
Index = ct.c_uint32


def prefix_key(p: Prefix) -> PrefixKey:
    return PrefixKey(p.length, (ct.c_uint8 * 16)(*p.addr))


def addr_key(addr: bytes) -> AddrKey:
    return AddrKey((ct.c_uint8 * 16)(*addr))


def name_key(match: int, wire: bytes) -> NameKey:
    return NameKey(match, (ct.c_uint8 * NAME_MAX)(*wire))


def port_class(ports: PortSet | None) -> PortClass:
    """None (a free slot) allows nothing."""
    c = PortClass()
    if ports is None:
        return c
    c.any = int(ports.any)
    c.n = len(ports.ranges)
    for i, r in enumerate(ports.ranges):
        c.r[i] = PortRangeC(r.first, r.last, r.protocol)
    return c

