"""TCP connect and accept, IPv4 and IPv6, both endpoints — bpf/tcp.c.

connect: src is this process's socket, dst the remote. accept: src is the remote
peer that connected, dst the local endpoint it reached. Repeats of one
(process, remote address, port) are counted in the kernel (map net_agg).
"""

from __future__ import annotations

import functools
import ipaddress
import struct

from weft.v1 import event_pb2

from . import EV_ACCEPT, EV_CONNECT, EV_UDP, HEADER, EventMaker, Probe, register

NET_KEY = struct.Struct("<IHH16sQII")  # tgid, family, port, addr, cgroup_id, kind, pad
NET_BODY = struct.Struct("<HHI16s16s")  # sport, dport, pad, saddr, daddr
# struct net_value: struct agg (count, first_ts, last_ts, tick, gen), uid, sport, dport, comm,
# saddr, daddr
NET_VALUE = struct.Struct("<QQQQI4xIHH16s16s16s")
KINDS = {
    EV_CONNECT: (event_pb2.RuntimeEvent.NETWORK_CONNECT, event_pb2.Network.TCP),
    EV_ACCEPT: (event_pb2.RuntimeEvent.NETWORK_ACCEPT, event_pb2.Network.TCP),
    EV_UDP: (event_pb2.RuntimeEvent.NETWORK_CONNECT, event_pb2.Network.UDP),
}
UNSPECIFIED = bytes(16)


@functools.lru_cache(maxsize=4096)  # a process talks to few addresses, many times
def ip_text(addr: bytes) -> str:
    """16 kernel bytes (IPv4 v4-mapped) as text; v4-mapped shows as plain IPv4."""
    if addr == UNSPECIFIED:
        return ""
    ip = ipaddress.IPv6Address(addr)
    return str(ip.ipv4_mapped or ip)


def parse_net(raw: bytes, maker: EventMaker) -> event_pb2.RuntimeEvent:
    """A network record (struct net_event in bpf/common.c)."""
    kind, proto = KINDS[int.from_bytes(raw[:4], "little")]
    sport, dport, _pad, saddr, daddr = NET_BODY.unpack_from(raw, HEADER.size + NET_KEY.size)
    ev = maker.make(raw, kind)
    n = ev.network
    n.src_ip, n.src_port, n.dst_ip, n.dst_port, n.protocol = (
        ip_text(saddr), sport, ip_text(daddr), dport, proto)
    return ev


def net_key(raw: bytes) -> tuple[str, bytes]:
    return "net_agg", raw[HEADER.size:HEADER.size + NET_KEY.size]


def net_record(key: bytes, value: bytes) -> bytes:
    """The first occurrence's record (struct net_event), rebuilt from its key and its
    net_agg value (struct net_value)."""
    tgid, _family, _port, _addr, cg, kind, _pad = NET_KEY.unpack(key)
    _count, first_ts, _last, _tick, _gen, uid, sport, dport, comm, saddr, daddr = NET_VALUE.unpack(value)
    return (HEADER.pack(kind, tgid, tgid, uid, cg, first_ts, comm) + key
            + NET_BODY.pack(sport, dport, 0, saddr, daddr))


@register
class TcpProbe(Probe):
    name = "tcp"
    event_types = (EV_CONNECT, EV_ACCEPT)
    agg_maps = ("net_agg",)

    def parse(self, raw: bytes) -> event_pb2.RuntimeEvent | None:
        return parse_net(raw, self.maker)

    def agg_key(self, raw: bytes) -> tuple[str, bytes] | None:
        return net_key(raw)

    def record_of(self, map_name: str, key: bytes, value: bytes) -> bytes | None:
        return net_record(key, value)
