"""The cross-cloud execution graph, built incrementally from event batches: `add(events)`
as they come, `snapshot(inventory)` whenever a picture is wanted. Pure logic.

Nodes are workloads per cluster (agents, MCP servers, tools, inference servers, data
services), the models hosted APIs answered for, and addresses: a fleet cluster's whose
workload was not told (`endpoint`) or nobody's (`external`). Edges are observed calls,
with counts and first/last event times; an edge between two clouds is `crossProvider`.

Where a call went is decided at snapshot time, from everything seen so far, so the
order batches arrive in never changes the answer (graph_resolve.py says how). State is
one entry per distinct (workload, destination) and per MCP session, never per event.
"""
from __future__ import annotations

from typing import Iterable

from weft.discovery.core.agents import WorkloadRef, host_of, logical_name, names_itself
from weft.discovery.core.classify import Discovered
from weft.discovery.core.graph_build import build
from weft.discovery.core.graph_model import Graph
from weft.discovery.core.graph_observations import Call, ClusterFacts, Observations, split_address
from weft.discovery.core.sightings import Sightings
from weft.v1 import event_pb2

E = event_pb2.RuntimeEvent
PROVIDERS = {event_pb2.Node.AWS: "aws", event_pb2.Node.AZURE: "azure", event_pb2.Node.GCP: "gcp",
             event_pb2.Node.OTHER: "other"}


class ExecutionGraph:
    def __init__(self) -> None:
        self.observations = Observations()
        self._nodes: dict[str, bytes] = {}                    # node name -> the identity last noted
        self._refs: dict[object, WorkloadRef | None] = {}     # container id (or identity) -> its workload
        self._fast: dict[tuple, Sightings] = {}               # raw event fields -> their call's sightings

    def add(self, events: Iterable[E]) -> None:
        obs, fast = self.observations, self._fast
        CONNECT, ACCEPT, LLM, MCP, HTTP = E.NETWORK_CONNECT, E.NETWORK_ACCEPT, E.LLM_REQUEST, E.MCP_CALL, E.HTTP_REQUEST
        noted: set[str] = set()         # a batch comes from one node: its facts read once per batch
        for ev in events:
            k = ev.kind
            if k != CONNECT and k != ACCEPT and k != LLM and k != MCP and k != HTTP:
                continue
            if (node := ev.node).name not in noted:
                noted.add(node.name)
                self._note_node(node)
            ref = self._ref(ev)
            if ref is None:
                continue
            start = ev.time.seconds
            end, count = max(start, ev.last_seen.seconds), ev.count or 1
            if k == CONNECT:
                n = ev.network
                raw = (ref, n.dns_name, n.dst_ip, n.dst_port, n.src_ip)
                seen = fast.get(raw)
                if seen is None:
                    call = Call(ref, "tcp", host_of(n.dns_name) if n.dns_name else "", n.dst_port, n.dst_ip, n.src_ip)
                    seen = fast[raw] = obs.sighting(obs.calls, call)
                seen.add(start, end, count)
            elif k == ACCEPT:
                n = ev.network
                obs.sighting(obs.accepts, (ref, n.src_ip, n.dst_port)).add(start, end, count)
                if n.dst_ip:
                    obs.clusters[ref.cluster].addresses.add(n.dst_ip)
            elif k == LLM:
                m = ev.llm
                raw = (ref, "llm", m.host, m.path, m.provider, m.model)
                seen = fast.get(raw)
                if seen is None:
                    host, port = split_address(m.host)
                    call = Call(ref, "llm", host, port, endpoint=m.host + m.path, provider=m.provider, model=m.model)
                    seen = fast[raw] = obs.sighting(obs.calls, call)
                seen.add(start, end, count)
            elif k == MCP:
                self._mcp(ref, ev.mcp, start, end, count)
            elif (h := ev.http).side != "server":
                raw = (ref, "http", h.host)
                seen = fast.get(raw)
                if seen is None:
                    host, port = split_address(h.host)
                    seen = fast[raw] = obs.sighting(obs.calls, Call(ref, "http", host, port, endpoint=h.host))
                seen.add(start, end, count)

    def snapshot(self, inventory: Iterable[Discovered] = ()) -> Graph:
        """The graph as it stands; workload kinds from Observe's inventory (a workload it
        does not list, or lists as none, is a `service`)."""
        kinds = {ref: d.kind for d in inventory for ref in d.workloads}
        names = {ref: d.name for d in inventory for ref in d.workloads}
        return build(self.observations, kinds, names)

    def _mcp(self, ref: WorkloadRef, m, start: int, end: int, count: int) -> None:
        obs = self.observations
        side = m.side or ("server" if names_itself(ref, host_of(m.server)) else "client")
        if m.session_id and m.request_id:
            obs.request(m.session_id, side, ref, m.request_id)
        if side == "client":
            raw = (ref, "mcp", m.server, m.transport, m.session_id)
            seen = self._fast.get(raw)
            if seen is None:
                host, port = ("", 0) if m.transport == "stdio" else split_address(m.server)
                call = Call(ref, "mcp", host, port, endpoint=m.server, transport=m.transport, session=m.session_id)
                seen = self._fast[raw] = obs.sighting(obs.calls, call)
            seen.add(start, end, count)

    def _note_node(self, node) -> None:
        """A cluster's cloud and egress IPs, noted once per node (and again if they change)."""
        key = node.SerializeToString()
        if self._nodes.get(node.name) == key or not node.cluster:
            return
        self._nodes[node.name] = key
        facts = self.observations.clusters.setdefault(node.cluster, ClusterFacts())
        provider = PROVIDERS.get(node.provider, "")
        if provider and (not facts.provider or provider < facts.provider):
            facts.provider = provider
        facts.egress_ips.update(node.egress_ips)

    def _ref(self, ev: E) -> WorkloadRef | None:
        """The event's workload (None for host processes); its logical name noted once."""
        w = ev.workload
        key = w.container_id or (ev.node.cluster, w.namespace, w.name, w.container)
        if key in self._refs:
            return self._refs[key]
        ref = WorkloadRef(ev.node.cluster, w.namespace, w.name) if w.name and ev.node.cluster else None
        if ref is not None:
            name = logical_name(w.namespace, w.name, dict(w.labels))
            names = self.observations.names
            if ref not in names or name < names[ref]:
                names[ref] = name
        self._refs[key] = ref
        return ref
