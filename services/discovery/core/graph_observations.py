"""What the execution graph remembers of runtime events, one entry per distinct thing
seen: each cluster's cloud and addresses, each workload's name, each (workload, peer,
port) it accepted from, each destination a workload called, and the first request ids
of each MCP session on each side. Pure data."""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from weft.discovery.core.agents import WorkloadRef
from weft.discovery.core.sightings import Sightings

MAX_REQUEST_IDS = 32          # per session and side: the smallest ids, enough to pair the two ends
LOCAL = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})
_SCHEME_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_URL = re.compile(r"^(?:([a-z][a-z0-9+.-]*)://)?(?:[^@/\s]*@)?(\[[0-9a-f:.]+\]|[^:/\s\[\]]+)(?::(\d+))?", re.I)


@dataclass(frozen=True, order=True)
class Call:
    """One distinct destination one workload addressed, at one protocol layer."""
    source: WorkloadRef
    layer: str            # tcp, http, llm or mcp
    host: str             # the name (or address) the caller used, lowercase; "" for a bare address
    port: int = 0         # 0: not known
    ip: str = ""          # tcp: the destination address
    src_ip: str = ""      # tcp: the caller's own address
    endpoint: str = ""    # llm, mcp, http: what was addressed as given (URL, host:port/path, stdio command)
    transport: str = ""   # mcp: stdio, streamable-http, ...
    session: str = ""     # mcp: the session id
    provider: str = ""    # llm
    model: str = ""       # llm

    @property
    def is_stdio(self) -> bool:
        return self.layer == "mcp" and (self.transport == "stdio" or (not self.transport and " " in self.endpoint))


@dataclass
class ClusterFacts:
    provider: str = ""                                   # aws, azure, gcp, other
    egress_ips: set[str] = field(default_factory=set)    # what peers see as the source of its traffic
    addresses: set[str] = field(default_factory=set)     # where its workloads accepted connections


@dataclass
class Observations:
    clusters: dict[str, ClusterFacts] = field(default_factory=dict)
    names: dict[WorkloadRef, str] = field(default_factory=dict)                     # logical names
    accepts: dict[tuple[WorkloadRef, str, int], Sightings] = field(default_factory=dict)   # (ref, peer, port)
    calls: dict[Call, Sightings] = field(default_factory=dict)
    requests: dict[tuple[str, str, WorkloadRef], set[str]] = field(default_factory=dict)  # (session, side, ref)

    def sighting(self, table: dict, key) -> Sightings:
        s = table.get(key)
        if s is None:
            s = table[key] = Sightings()
        return s

    def request(self, session: str, side: str, ref: WorkloadRef, request_id: str) -> None:
        ids = self.requests.setdefault((session, side, ref), set())
        if request_id in ids:
            return
        ids.add(request_id)
        if len(ids) > MAX_REQUEST_IDS:
            ids.remove(max(ids, key=_id_order))


def _id_order(request_id: str) -> tuple[int, str]:
    return len(request_id), request_id          # numeric ids in numeric order


def split_address(value: str) -> tuple[str, int]:
    """(host, port) of a URL, `host:port[/path]` or bare name; port 0 when it cannot be told."""
    m = _URL.match(value.strip())
    if not m:
        return value.strip().lower(), 0
    scheme, host, port = m.group(1), m.group(2).strip("[]").rstrip(".").lower(), m.group(3)
    return host, int(port) if port else _SCHEME_PORTS.get((scheme or "").lower(), 0)


def is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_local(host: str) -> bool:
    return host in LOCAL or host.startswith("127.")
