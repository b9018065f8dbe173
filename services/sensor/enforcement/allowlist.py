"""A sensor policy as the kernel's allow-list: what bpf/enforce.c looks up. Pure.

Destinations carry a mask of port classes: each distinct set of ports in the policy is
one class (one bit, at most MAX_CLASSES), so a destination allowed by several rules
allows the union of their ports. The kernel's CIDR map is a longest-prefix-match trie,
which answers with the most specific prefix only; every prefix therefore also carries
the classes of each prefix that covers it. Names become wire-format keys (exact, one
label below, any depth below), and the exact ones are also resolved by the sensor.

IPv4 is kept v4-mapped (::ffff:a.b.c.d, prefix length + 96), as the kernel sees an
IPv4 destination from a v4 or a dual-stack v6 socket alike; IPv6 prefixes never allow
IPv4 destinations through that mapping.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import jsonschema

from weft.enforce.core import sensorpolicy

MATCH = {"exact": 1, "one_label": 2, "any_depth": 3}
PROTOCOLS = {"TCP": 6, "UDP": 17}
NAME_MAX = 256   # a wire-format name with its root label fits   (these three as in enforce.c)
MAX_CLASSES = 32
MAX_RANGES = 16


class PolicyError(ValueError):
    """The policy cannot become a kernel allow-list (schema, or a kernel limit)."""


@dataclass(frozen=True, order=True)
class PortRange:
    first: int
    last: int
    protocol: int    # 6 TCP, 17 UDP


@dataclass(frozen=True)
class PortSet:
    """One port class: ranges merged and sorted; no ranges at all = every port and protocol."""
    ranges: tuple[PortRange, ...]

    @property
    def any(self) -> bool:
        return not self.ranges

    def allows(self, port: int, protocol: int) -> bool:
        return self.any or any(r.protocol == protocol and r.first <= port <= r.last for r in self.ranges)


def port_set(ports: list[dict]) -> PortSet:
    """The policy's port list (first, last, protocol) as a normalized PortSet."""
    ranges = sorted(PortRange(min(p["first"], p["last"]), max(p["first"], p["last"]),
                              PROTOCOLS[p["protocol"]]) for p in ports)
    merged: list[PortRange] = []
    for r in ranges:
        last = merged[-1] if merged else None
        if last and last.protocol == r.protocol and r.first <= last.last + 1:
            merged[-1] = PortRange(last.first, max(last.last, r.last), r.protocol)
        else:
            merged.append(r)
    merged.sort(key=lambda r: (r.protocol, r.first))
    if len(merged) > MAX_RANGES:
        raise PolicyError(f"{len(merged)} port ranges in one rule; the kernel takes {MAX_RANGES}")
    return PortSet(tuple(merged))


def assign_classes(sets: list[PortSet], previous: list[PortSet | None] | None = None
                   ) -> list[PortSet | None]:
    """A slot (bit) per distinct port set. One the kernel has already keeps its slot; a
    new one takes a slot free before this change, else a new slot, and only when none is
    left one freed by this change (whose old ports entries may still name)."""
    wanted = list(dict.fromkeys(sets))
    previous = list(previous or [])
    slots: list[PortSet | None] = [p if p in wanted else None for p in previous]
    free = [i for i, p in enumerate(previous) if p is None]
    freed = [i for i, p in enumerate(previous) if p is not None and p not in wanted]
    for ports in wanted:
        if ports in slots:
            continue
        if free:
            slots[free.pop(0)] = ports
        elif len(slots) < MAX_CLASSES:
            slots.append(ports)
        elif freed:
            slots[freed.pop(0)] = ports
        else:
            raise PolicyError(f"{len(wanted)} distinct port sets; the kernel takes {MAX_CLASSES}")
    while slots and slots[-1] is None:
        slots.pop()
    return slots


@dataclass(frozen=True, order=True)
class Prefix:
    addr: bytes      # 16 bytes, IPv4 v4-mapped
    length: int      # 0..128

    @classmethod
    def parse(cls, cidr: str) -> Prefix:
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError as e:
            raise PolicyError(f"egress cidr {cidr!r}: {e}") from None
        if net.version == 4:
            return cls(v4_mapped(net.network_address.packed), net.prefixlen + 96)
        return cls(net.network_address.packed, net.prefixlen)

    def covers(self, other: Prefix) -> bool:
        return self.length <= other.length and _bits(self.addr, self.length) == _bits(other.addr, self.length)

    @property
    def is_v4(self) -> bool:
        return V4_SPACE.covers(self)


V4_SPACE = Prefix(bytes(10) + b"\xff\xff" + bytes(4), 96)   # where IPv4 lives, v4-mapped


def _bits(addr: bytes, length: int) -> int:
    return int.from_bytes(addr, "big") >> (128 - length) if length else 0


def v4_mapped(packed: bytes) -> bytes:
    return bytes(10) + b"\xff\xff" + packed


def address_key(ip: str) -> bytes:
    """An address as the kernel keys it (16 bytes, IPv4 v4-mapped)."""
    addr = ipaddress.ip_address(ip)
    return v4_mapped(addr.packed) if addr.version == 4 else addr.packed


def wire_name(name: str) -> bytes:
    """'API.example.com.' -> b'\\x03api\\x07example\\x03com\\x00' (lower case)."""
    labels = name.lower().rstrip(".").split(".")
    if not name.strip(".") or any(not 0 < len(label) < 64 for label in labels):
        raise PolicyError(f"fqdn {name!r} is not a DNS name")
    wire = b"".join(bytes([len(label)]) + label.encode("ascii") for label in labels) + b"\0"
    if len(wire) > 255:
        raise PolicyError(f"fqdn {name!r} is longer than DNS allows")
    return wire


@dataclass
class AllowList:
    name: str
    mode: str
    classes: list[PortSet | None]                  # index = class bit; None: a free slot
    cidrs: dict[Prefix, int]                       # covering prefixes' classes merged in
    names: dict[tuple[int, bytes], int]            # (MATCH code, wire name) -> classes
    lookups: dict[str, int] = field(default_factory=dict)  # exact names the sensor resolves
    resolvers: tuple[str, ...] = ()                # single addresses the policy allows DNS to


def validate(policy: dict) -> None:
    try:
        jsonschema.validate(policy, sensorpolicy.SCHEMA)
    except jsonschema.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "policy"
        raise PolicyError(f"{where}: {e.message}") from None


def compile_allowlist(policy: dict, previous: list[PortSet | None] | None = None) -> AllowList:
    """The allow-list of a validated sensor policy. `previous` (the classes in the
    kernel now) keeps each unchanged port set at its bit, so entries being replaced
    never point at a class whose ports changed under them."""
    validate(policy)
    spec, egress = policy["spec"], policy["spec"]["egress"]
    rules = [(Prefix.parse(r["cidr"]), port_set(r["ports"])) for r in egress["cidrs"]]
    named = [(MATCH[r["match"]], wire_name(r["name"]), r["name"].lower().rstrip("."),
              port_set(r["ports"])) for r in egress["fqdns"]]
    classes = assign_classes([ports for _, ports in rules] + [n[3] for n in named], previous)
    bit = {ports: 1 << i for i, ports in enumerate(classes) if ports is not None}
    own: dict[Prefix, int] = {}
    for prefix, ports in rules:
        own[prefix] = own.get(prefix, 0) | bit[ports]
    names: dict[tuple[int, bytes], int] = {}
    lookups: dict[str, int] = {}
    for match, wire, text, ports in named:
        names[(match, wire)] = names.get((match, wire), 0) | bit[ports]
        if match == MATCH["exact"]:
            lookups[text] = lookups.get(text, 0) | bit[ports]
    return AllowList(policy["metadata"]["name"], spec["mode"], classes, merge_covering(own),
                     names, lookups, declared_resolvers(rules))


DNS = 53


def declared_resolvers(rules: list[tuple[Prefix, PortSet]]) -> tuple[str, ...]:
    """The DNS servers a policy names: single addresses it allows port 53 to (UDP or
    TCP). A policy suggested from a profile names the agent's own resolver this way, so
    its replies are learned from the moment the policy loads, before any process of the
    agent has run for the sensor to read its resolv.conf. Wider prefixes name no server:
    allowing DNS to 10.0.0.0/8 must not make every address in it trusted."""
    found = []
    for prefix, ports in rules:
        if prefix.length == 128 and not ports.any and (ports.allows(DNS, PROTOCOLS["UDP"])
                                                        or ports.allows(DNS, PROTOCOLS["TCP"])):
            addr = ipaddress.ip_address(prefix.addr)
            ip = str(addr.ipv4_mapped or addr)
            if ip not in found:
                found.append(ip)
    return tuple(found)


def merge_covering(own: dict[Prefix, int]) -> dict[Prefix, int]:
    """Each prefix with the classes of every prefix that covers it (itself included).
    An IPv6 prefix never lends its classes to IPv4: where one covers the v4-mapped
    space (::/0 does), an entry for that space itself (no classes, unless 0.0.0.0/0
    is allowed) keeps IPv4 destinations from matching it."""
    own = dict(own)
    if any(not q.is_v4 and q.covers(V4_SPACE) for q in own):
        own.setdefault(V4_SPACE, 0)
    return {p: _or(m for q, m in own.items() if q.covers(p) and q.is_v4 == p.is_v4) for p in own}


def _or(masks) -> int:
    out = 0
    for m in masks:
        out |= m
    return out


def name_classes(allow: AllowList, qname: str) -> int:
    """The classes a DNS question's name belongs to, as the kernel decides it."""
    labels = qname.lower().rstrip(".").split(".")
    mask = allow.names.get((MATCH["exact"], wire_name(qname)), 0)
    for i in range(1, len(labels)):
        below = wire_name(".".join(labels[i:]))
        mask |= allow.names.get((MATCH["any_depth"], below), 0)
        if i == 1:
            mask |= allow.names.get((MATCH["one_label"], below), 0)
    return mask


def cidr_classes(allow: AllowList, ip: str) -> int:
    """What the kernel's longest-prefix match answers for an address."""
    key = Prefix(address_key(ip), 128)
    best = max((p for p in allow.cidrs if p.covers(key)), key=lambda p: p.length, default=None)
    return allow.cidrs[best] if best else 0


def allows(allow: AllowList, mask: int, port: int, protocol: int) -> bool:
    """Whether a destination with these classes may be reached on this port."""
    for i, ports in enumerate(allow.classes):
        if ports is not None and mask >> i & 1 and ports.allows(port, protocol):
            return True
    return False


