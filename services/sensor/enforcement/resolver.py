"""Allowed names to addresses — and why the kernel does most of it.

"A connection right after a fresh lookup of an allowed name must succeed every time."
A resolver in the sensor cannot promise that on its own: answers rotate (round robin,
CDN pools, several resolvers behind one address), so the agent's reply may carry an
address the sensor's last lookup did not, and the agent's connect() then races the
sensor. So the kernel learns: `learn_dns` (bpf/enforce.c, cgroup skb ingress on the
agent's cgroups) reads each DNS reply from a trusted resolver while it is being queued
to the agent's socket and, when the question is an allowed name, adds the A/AAAA
answers to the allow-list before the agent's recv() can return. There is no race left.

This module is the complement: the exact names are also resolved by the sensor when the
policy loads and again before their TTL runs out, so an address the agent resolved
before the policy loaded, or over a path the kernel does not read (DNS over TCP or
TLS; owner names longer than MAX_LABELS; more than MAX_ANSWERS answers), still works
while it is current. Addresses live max(TTL, MIN_TTL) plus GRACE after they were seen,
in the kernel and here alike: clients use an address past its TTL (pools, own caches).

The trusted resolvers are the nameservers of the agent's own resolv.conf (read through
/proc/<pid>/root while a process of it runs, and remembered for as long as the policy is
in force), the single addresses the policy allows port 53 to (a suggested policy names
the agent's resolver so: trusted from the load on, before any process of the agent has
started), and the configured or the host's ones. A process able to forge
packets inside the agent's network namespace (CAP_NET_RAW) could forge a resolver's
reply: enforced agents should run without NET_RAW.
"""
from __future__ import annotations

import ipaddress
import os
import secrets
import select
import socket
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from ..probes.dns import parse_message

MIN_TTL = 60            # seconds an answer is kept at least
GRACE = 120             # and this long past its TTL
REFRESH_FLOOR = 5.0     # seconds between two lookups of one name, at least
QTYPES = (1, 28)        # A, AAAA


@dataclass(frozen=True)
class Answer:
    ip: str
    ttl: int


def nameservers(resolv_conf: str) -> list[str]:
    out = []
    for line in resolv_conf.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            try:
                out.append(str(ipaddress.ip_address(parts[1].split("%")[0])))
            except ValueError:
                continue
    return out


def file_nameservers(path: str | Path) -> list[str]:
    try:
        return nameservers(Path(path).read_text())
    except OSError:
        return []


def agent_nameservers(cgroups: list[Path], processes: int = 4) -> list[str]:
    """The nameservers the agent's processes use: their resolv.conf, in their mount
    namespace. Empty while the cgroups hold no process."""
    found: list[str] = []
    for pid in _pids(cgroups, processes):
        for server in file_nameservers(f"/proc/{pid}/root/etc/resolv.conf"):
            if server not in found:
                found.append(server)
    return found


def _pids(cgroups: list[Path], limit: int) -> list[str]:
    pids: list[str] = []
    for cgroup in cgroups:
        for dirpath, _dirs, _files in os.walk(cgroup):
            try:
                pids += Path(dirpath, "cgroup.procs").read_text().split()
            except OSError:
                continue
            if len(pids) >= limit:
                return pids[:limit]
    return pids


def query(name: str, qtype: int, ident: int) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split("."))
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", qtype, 1)


def resolve(names: list[str], servers: list[str], timeout: float = 1.0) -> dict[str, list[Answer]]:
    """A and AAAA of every name, asked of every server at once; the first reply to each
    question counts. Names no server answered in time are missing from the result."""
    if not names or not servers:
        return {}
    asked: dict[int, tuple[str, int]] = {}
    socks = {family: socket.socket(family, socket.SOCK_DGRAM) for family in set(map(_family, servers))}
    base = secrets.randbelow(0x10000)
    try:
        for i, (name, qtype) in enumerate((n, q) for n in names for q in QTYPES):
            ident = (base + i) & 0xFFFF
            asked[ident] = (name, qtype)
            for server in servers:
                try:
                    socks[_family(server)].sendto(query(name, qtype, ident), (server, 53))
                except OSError:
                    continue
        return _collect(list(socks.values()), asked, time.monotonic() + timeout)
    finally:
        for s in socks.values():
            s.close()


def _family(server: str) -> int:
    return socket.AF_INET6 if ":" in server else socket.AF_INET


def _collect(socks: list[socket.socket], asked: dict[int, tuple[str, int]], deadline: float
             ) -> dict[str, list[Answer]]:
    out: dict[str, list[Answer]] = {}
    while asked and (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select(socks, [], [], left)
        for s in ready:
            msg = parse_message(s.recv(4096))
            want = asked.get(msg.id) if msg else None
            if msg is None or want is None or not msg.response or (msg.name, msg.qtype) != want:
                continue
            del asked[msg.id]
            out.setdefault(msg.name, []).extend(Answer(ip, ttl) for ip, ttl in msg.answers)
    return out
