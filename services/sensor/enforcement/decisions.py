"""Kernel decision records -> POLICY_DECISION events. Pure.

A record is `struct decision` of bpf/enforce.c: the sensor's `struct hdr`, then the
destination, the verdict and the hook. Records that differ only in time (a process
retrying the same refused destination) fold into one event whose count says how many,
first at `time` and last at `last_seen`, as the sensor's other events do.
"""
from __future__ import annotations

from dataclasses import dataclass

from weft.v1 import event_pb2

from ..probes import HEADER, Header, set_ns
from ..probes.tcp import ip_text
from .layout import DECISION, EV_POLICY, HOOK_NAMES

PROTOCOLS = {6: ("TCP", event_pb2.Network.TCP), 17: ("UDP", event_pb2.Network.UDP)}


@dataclass(frozen=True)
class Decision:
    header: Header
    addr: bytes
    port: int
    protocol: int
    verdict: int
    hook: int

    @property
    def key(self) -> tuple:
        h = self.header
        return (h.tgid, h.cgroup_id, self.addr, self.port, self.protocol, self.verdict, self.hook)


def parse(raw: bytes) -> Decision | None:
    if len(raw) < HEADER.size + DECISION.size or int.from_bytes(raw[:4], "little") != EV_POLICY:
        return None
    addr, port, proto, verdict, hook = DECISION.unpack_from(raw, HEADER.size)
    return Decision(Header.decode(raw), addr, port, proto, verdict, hook)


def to_events(decisions: list[Decision], policy: str, mode: str, wall_offset_ns: int
              ) -> list[event_pb2.RuntimeEvent]:
    """One event per distinct (process, destination, verdict, hook), in kernel order.
    wall_offset_ns turns the kernel's monotonic stamps into wall time."""
    folded: dict[tuple, tuple[Decision, int, int]] = {}   # key -> (first, count, last ts)
    for d in decisions:
        first, n, _ = folded.get(d.key, (d, 0, 0))
        folded[d.key] = (first, n + 1, d.header.ts)
    return [_event(first, n, last, policy, mode, wall_offset_ns)
            for first, n, last in folded.values()]


def _event(d: Decision, count: int, last_ts: int, policy: str, mode: str, offset: int
           ) -> event_pb2.RuntimeEvent:
    ev = d.header.event(event_pb2.RuntimeEvent.POLICY_DECISION)
    ev.count = count
    set_ns(ev.time, d.header.ts + offset)
    set_ns(ev.last_seen, last_ts + offset)
    proto_name, proto = PROTOCOLS.get(d.protocol, (str(d.protocol), event_pb2.Network.PROTOCOL_UNSPECIFIED))
    ip = ip_text(d.addr)
    p = ev.policy
    p.name, p.mode, p.verdict = policy, mode, d.verdict
    shown = f"[{ip}]" if ":" in ip else ip
    p.rule = f"egress {shown}:{d.port}/{proto_name} is not allowed ({HOOK_NAMES.get(d.hook, d.hook)})"
    dst = p.destination
    dst.dst_ip, dst.dst_port, dst.protocol = ip, d.port, proto
    return ev
