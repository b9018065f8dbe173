"""DNS: names a process resolved and their answers — bpf/dns.c.

The kernel hands over UDP/53 payloads (query on send, reply on receive); they are
parsed here, once per query. Answers feed a per-cgroup IP -> name map with TTL,
so a later connect to an answered address carries `network.dns_name`. The
UDP/53 sends themselves are reported as NETWORK_CONNECT (protocol UDP).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

from weft.v1 import event_pb2

from . import EV_DNS, EV_UDP, HEADER, Header, Probe, register, set_ns
from .tcp import net_key, parse_net

DNS_BODY = struct.Struct("<IHHHH16s")  # fd, response, len, dst family, dst port, dst addr
QUERY_TIMEOUT_NS = 2_000_000_000
MIN_TTL_NS = 60_000_000_000   # a connect often follows a short-TTL answer late
REPEAT_WINDOW_NS = 60_000_000_000
MAX_NAMES = 65536
K = event_pb2.RuntimeEvent


@dataclass
class Message:
    id: int
    response: bool
    name: str
    qtype: int
    answers: list[tuple[str, int]] = field(default_factory=list)  # (ip, ttl seconds)


def read_name(buf: bytes, off: int) -> tuple[str, int]:
    """A possibly compressed name at off; returns it and the offset after it."""
    labels, end, jumps = [], None, 0
    while True:
        n = buf[off]
        if n & 0xC0 == 0xC0:
            jumps += 1
            if jumps > 32:
                raise ValueError("DNS name pointer loop")
            end = off + 2 if end is None else end
            off = (n & 0x3F) << 8 | buf[off + 1]
            continue
        if n == 0:
            return ".".join(labels), (off + 1 if end is None else end)
        labels.append(buf[off + 1:off + 1 + n].decode("ascii", errors="replace"))
        off += 1 + n


def parse_message(buf: bytes) -> Message | None:
    """One DNS message with a single question; None when it is not one."""
    try:
        ident, flags, qd, an = struct.unpack_from("!HHHH", buf)
        if qd != 1:
            return None
        name, off = read_name(buf, 12)
        qtype, _qclass = struct.unpack_from("!HH", buf, off)
        off += 4
    except (IndexError, struct.error, ValueError):
        return None
    msg = Message(ident, bool(flags & 0x8000), name.lower().rstrip("."), qtype)
    try:
        for _ in range(an):
            _, off = read_name(buf, off)
            rtype, _rclass, ttl, rdlen = struct.unpack_from("!HHIH", buf, off)
            off += 10
            rdata = buf[off:off + rdlen]
            off += rdlen
            if (rtype, rdlen) in ((1, 4), (28, 16)) and len(rdata) == rdlen:
                msg.answers.append((str(ipaddress.ip_address(rdata)), ttl))
    except (IndexError, struct.error, ValueError):
        pass  # a reply cut at 512 bytes keeps the answers before the cut
    return msg


@register
class DnsProbe(Probe):
    name = "dns"
    event_types = (EV_DNS, EV_UDP)
    enrich_kinds = frozenset({K.NETWORK_CONNECT})

    def __init__(self) -> None:
        self._pending: dict[tuple[int, int], tuple[Header, Message]] = {}
        self._names: dict[tuple[int, str], tuple[str, int]] = {}  # (cgroup, ip) -> name, expiry
        self._repeats: dict[tuple, list] = {}  # key -> [template, pending count, last ts]

    def parse(self, raw: bytes) -> event_pb2.RuntimeEvent | None:
        if int.from_bytes(raw[:4], "little") == EV_UDP:
            return parse_net(raw, self.maker)
        hdr = Header.decode(raw)
        _fd, response, length, _fam, _port, _addr = DNS_BODY.unpack_from(raw, HEADER.size)
        start = HEADER.size + DNS_BODY.size
        msg = parse_message(raw[start:start + length])
        if msg is None or msg.response != bool(response):
            return None
        if not msg.response:
            self._pending[(hdr.tgid, msg.id)] = (hdr, msg)
            return None
        asked = self._pending.pop((hdr.tgid, msg.id), None)
        if asked is None or asked[1].name != msg.name:
            return None  # not a reply to a query we saw: never guess
        for ip, ttl in msg.answers:
            expiry = hdr.ts + max(ttl * 1_000_000_000, MIN_TTL_NS)
            self._names[(hdr.cgroup_id, ip)] = (msg.name, expiry)
        if msg.qtype == 28 and not msg.answers:
            return None  # the empty AAAA half of a dual-stack lookup says nothing
        return self._report(asked[0], hdr.ts, msg.name, [ip for ip, _ in msg.answers])

    def agg_key(self, raw: bytes) -> tuple[str, bytes] | None:
        return net_key(raw) if int.from_bytes(raw[:4], "little") == EV_UDP else None

    def enrich(self, event: event_pb2.RuntimeEvent, kernel_ts: int) -> None:
        if event.network.dns_name:
            return
        hit = self._names.get((event.process.cgroup_id, event.network.dst_ip))
        if hit and hit[1] >= kernel_ts:
            event.network.dns_name = hit[0]

    def tick(self, now_ns: int) -> list[event_pb2.RuntimeEvent]:
        out = []
        for key, (hdr, msg) in list(self._pending.items()):
            if now_ns - hdr.ts > QUERY_TIMEOUT_NS:
                del self._pending[key]
                if ev := self._report(hdr, hdr.ts, msg.name, []):
                    out.append(ev)
        for key, entry in list(self._repeats.items()):
            template, count, last = entry
            if count:
                ev = K()
                ev.CopyFrom(template)
                ev.count = count
                set_ns(ev.time, last)
                set_ns(ev.last_seen, last)
                out.append(ev)
                entry[1] = 0
            elif now_ns - last > REPEAT_WINDOW_NS:
                del self._repeats[key]
        if len(self._names) > MAX_NAMES:
            self._names = {k: v for k, v in self._names.items() if v[1] >= now_ns}
        return out

    def _report(self, hdr: Header, ts: int, name: str, answers: list[str]):
        """The first answer of a kind is reported now; repeats are counted."""
        key = (hdr.tgid, hdr.cgroup_id, name, tuple(sorted(answers)))
        if seen := self._repeats.get(key):
            seen[1] += 1
            seen[2] = ts
            return None
        ev = hdr.event(K.DNS_QUERY, ts)
        ev.dns.query = name
        ev.dns.answers.extend(answers)
        self._repeats[key] = [K(), 0, ts]
        self._repeats[key][0].CopyFrom(ev)
        return ev
