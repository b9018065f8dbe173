"""Who called an agent, and when: the calls into a workload that the entity index shows,
each one edge from a caller to the callee at an event time.

- MCP: the server's receipt and the client's call share a session id and a request id
  (the client nearest in time when the request id is missing or unmatched);
- network between clusters: an accept whose peer is another cluster's egress IP (or a
  workload address there), answered by that cluster's connection nearest in time and no
  more than MATCH_WINDOW_MS away; connections to the caller's own cluster are not
  candidates. A connection from an EKS pod to an AKS service is one edge;
- network inside a cluster: an accept answered by a connection of the same cluster from
  the accept's peer to exactly the address and port that accepted, within the window.

    for call in calls_into(index, "tools/crm-mcp"): call.caller, call.time_ms, call.via
"""
from __future__ import annotations

from dataclasses import dataclass

from weft.detect.core.entity_index import MATCH_WINDOW_MS, EntityIndex

MCP, NETWORK = "mcp", "network"
VIA_RANK = {MCP: 0, NETWORK: 1}


@dataclass(frozen=True, order=True)
class Call:
    time_ms: int
    caller: str
    callee: str
    via: str                    # mcp | network
    detail: str                 # "tools/call export_customers (session …, request …)", "52.20.10.5 -> :8080"
    callee_event: str = ""      # the callee's event id (an MCP receipt), when known


def calls_into(index: EntityIndex, agent: str) -> list[Call]:
    return sorted([*_mcp_calls(index, agent), *_network_calls(index, agent)])


def _mcp_calls(index: EntityIndex, agent: str) -> list[Call]:
    out = []
    for t, session, request, event_id, what in index.mcp_servers.get(agent, ()):
        clients = [c for c in index.mcp_clients.get(session, ()) if c[2] != agent]
        same = [c for c in clients if request and c[1] == request]
        best = min(same or clients, key=lambda c: (abs(c[0] - t), c[2], c[0]), default=None)
        if best is not None:
            ids = f"session {session}" + (f", request {request}" if request else "")
            out.append(Call(t, best[2], agent, MCP, f"{what} ({ids})", event_id))
    return out


def _network_calls(index: EntityIndex, agent: str) -> list[Call]:
    out = []
    for t, peer, local, port, cluster in index.accepts.get(agent, ()):
        best = min((*_across_clusters(index, agent, t, peer, cluster),
                    *_within_cluster(index, agent, t, peer, local, port, cluster)), default=None)
        if best is not None:
            out.append(Call(t, best[1], agent, NETWORK, f"{best[3]} → {cluster}:{port} (from {peer})"))
    return out


def _across_clusters(index: EntityIndex, agent: str, t: int, peer: str, cluster: str):
    """Connections from other clusters that this accept's peer (their egress, or one of
    their workloads' addresses) can be: (distance, caller, time, what was dialled)."""
    clusters = (index.egress.get(peer, set()) | {c for c, _ in index.addresses.get(peer, ())}) - {cluster}
    for c in sorted(clusters):
        own = index.cluster_addresses(c)
        egress = index.egress_of(c)
        for ct, caller, src, dst, _dport, dns in index.connects_near(c, t, MATCH_WINDOW_MS):
            if caller != agent and dst not in own and (src == peer or peer in egress):
                yield abs(ct - t), caller, ct, dns or dst


def _within_cluster(index: EntityIndex, agent: str, t: int, peer: str, local: str, port: int, cluster: str):
    """Connections inside the accept's own cluster, with no address translation between
    them: from the peer's address to exactly the address and port that accepted (so the
    storage tool's write to the bucket service beside it is an edge)."""
    if not local:
        return
    for ct, caller, src, dst, dport, dns in index.connects_near(cluster, t, MATCH_WINDOW_MS):
        if caller != agent and src == peer and dst == local and dport == port:
            yield abs(ct - t), caller, ct, dns or dst
