"""The execution graph as plain data: nodes (what runs or answers), edges (observed calls
between them), content-derived ids and the order everything is listed in. What builds
it is graph.py; what draws it, graph_render.py and graph_page.py."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

# Node kinds. Fleet workloads take the kind Observe classified them as (`service` when
# none: data services and the like); the rest are what workloads call.
AGENT, MCP_SERVER, TOOL, INFERENCE_SERVER = "agent", "mcp_server", "tool", "inference_server"
SERVICE = "service"          # a fleet workload that is none of the above
MODEL = "model"              # a model a hosted API answered for (provider + model name)
ENDPOINT = "endpoint"        # an address of a fleet cluster whose workload was not seen answering
EXTERNAL = "external"        # an address or name nobody in the fleet owns
AI_KINDS = (AGENT, MCP_SERVER, TOOL, INFERENCE_SERVER)
COLUMN = {AGENT: 0, MCP_SERVER: 1, TOOL: 1, INFERENCE_SERVER: 2, MODEL: 2, SERVICE: 2, ENDPOINT: 2, EXTERNAL: 2}

# Edge kinds, most specific first: an edge carrying several shows the first.
LAYERS = ("mcp", "llm", "http", "tcp")


def node_id(*identity: str) -> str:
    """`n-` and 16 hex digits of the SHA-256 of what the node is (never of its kind,
    which can change as evidence arrives)."""
    return "n-" + hashlib.sha256("\x1f".join(identity).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    name: str          # a workload's logical name, a model, a host, an address or an MCP command
    cluster: str       # "" outside the fleet
    provider: str      # the cluster's cloud (aws, azure, gcp, other); a model's provider; "" when unknown

    @property
    def in_fleet(self) -> bool:
        return bool(self.cluster)


@dataclass(frozen=True)
class Edge:
    source: str        # node ids
    target: str
    kind: str          # one of LAYERS
    count: int         # calls (or connections, for tcp) of that kind
    first_seen: int    # event time, epoch seconds, over everything the edge carries
    last_seen: int
    cross_provider: bool
    via: tuple[str, ...]        # how the target was told: mcp_session, dns, egress_ip, address, ...
    endpoints: tuple[str, ...]  # what the caller addressed (URLs, host:port, commands)


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    @cached_property
    def by_id(self) -> dict[str, Node]:
        return {n.id: n for n in self.nodes}

    @property
    def latest(self) -> int:
        return max((e.last_seen for e in self.edges), default=0)

    def outgoing(self, node: str) -> list[Edge]:
        return [e for e in self.edges if e.source == node]


def node_order(node: Node) -> tuple:
    return COLUMN.get(node.kind, 2), node.kind, node.name, node.cluster, node.id


def crosses_provider(a: Node, b: Node) -> bool:
    """Both in the fleet, both clouds known, and not the same cloud."""
    return a.in_fleet and b.in_fleet and bool(a.provider) and bool(b.provider) and a.provider != b.provider
