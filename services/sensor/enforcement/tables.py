"""Writing an allow-list into a policy's maps while its programs run.

Order is what keeps a connection from seeing half an update: new port classes first
(nothing points at them yet), then each destination entry replaced whole (old or new
mask, never a mix), stale entries deleted last, and the classes nothing points at any
more cleared at the very end. The kernel writes `learned` itself; the sensor only ever
removes bits of classes that changed meaning, and clears it when the allowed names
change (their learned addresses can no longer be told apart).
"""
from __future__ import annotations

from . import layout
from .allowlist import AllowList, PortSet, address_key
from .libbpf import Map
from .resolver import GRACE, MIN_TTL

Maps = dict[str, Map]


def write_allowlist(maps: Maps, allow: AllowList, previous: list[PortSet | None],
                    resolvers: list[str]) -> None:
    changed = [i for i in range(max(len(previous), len(allow.classes)))
               if _slot(previous, i) != _slot(allow.classes, i)]
    for i in changed:
        if _slot(allow.classes, i) is not None:
            drop_class(maps, i)   # a reused slot: old learned bits must not gain its new ports
            maps["classes"].put(layout.Index(i), layout.port_class(_slot(allow.classes, i)))
    names = {bytes(layout.name_key(m, w)): (layout.name_key(m, w), layout.Mask(c))
             for (m, w), c in allow.names.items()}
    names_changed = _contents(maps["names"]) != {k: v[1].value for k, v in names.items()}
    sync(maps["cidrs"], {bytes(k): (k, layout.Mask(c)) for k, c in
                         ((layout.prefix_key(p), c) for p, c in allow.cidrs.items())})
    sync(maps["names"], names)
    write_resolvers(maps, resolvers)
    for i in changed:
        if _slot(allow.classes, i) is None:
            maps["classes"].put(layout.Index(i), layout.port_class(None))
            drop_class(maps, i)
    if names_changed and previous:
        clear(maps["learned"])
    maps["config"].put(layout.Index(0), layout.Config(layout.MODES[allow.mode], MIN_TTL,
                                                       GRACE * 1_000_000_000))


def write_resolvers(maps: Maps, resolvers: list[str]) -> None:
    """The DNS servers whose port 53 stays reachable and whose replies are learned from."""
    sync(maps["resolvers"], {bytes(k): (k, layout.Flag(1)) for k in
                             (layout.addr_key(address_key(ip)) for ip in resolvers)})


def write_resolved(maps: Maps, entries: dict[bytes, tuple[int, int]]) -> None:
    """The sensor's own lookups: address -> (classes, expiry in monotonic ns)."""
    sync(maps["resolved"], {bytes(k): (k, layout.AddrVal(expires, mask)) for k, (mask, expires) in
                            ((layout.addr_key(a), v) for a, v in entries.items())})


def read_resolved(maps: Maps) -> dict[bytes, tuple[int, int]]:
    return {bytes(k.addr): (v.classes, v.expires) for k, v in maps["resolved"].items()}


def drop_class(maps: Maps, bit: int) -> None:
    """Take one class off every address that has it (sensor- and kernel-written)."""
    for name in ("resolved", "learned"):
        for key, value in maps[name].items():
            if value.classes >> bit & 1:
                value.classes &= ~(1 << bit)
                if value.classes:
                    maps[name].put(key, value)
                else:
                    maps[name].delete(key)


def sync(table: Map, desired: dict[bytes, tuple]) -> None:
    """Make the map hold exactly `desired` (raw key -> (key, value)): puts, then deletes."""
    for key, value in desired.values():
        table.put(key, value)
    for key in table.keys():
        if bytes(key) not in desired:
            table.delete(key)


def clear(table: Map) -> None:
    for key in table.keys():
        table.delete(key)


def count(table: Map) -> int:
    return sum(1 for _ in table.keys())


def _contents(table: Map) -> dict[bytes, int]:
    return {bytes(k): v.value for k, v in table.items()}


def _slot(classes: list[PortSet | None], i: int) -> PortSet | None:
    return classes[i] if i < len(classes) else None
