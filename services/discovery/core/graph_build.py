"""From observations to a Graph: every call resolved (graph_resolve.py), calls between
the same two nodes folded into one edge, and only what AI workloads take part in kept.
Pure logic; the same observations always give the same graph, in the same order.

- An edge shows its most specific layer (mcp, llm, http, tcp) and that layer's count;
  first/last seen and `via` cover all it carries. A connection to a host the same
  workload sent decoded requests to is shown by those requests only.
- Kept: every AI workload (agent, MCP server, tool, inference server), every edge whose
  caller an AI workload reaches through the graph, and the nodes those edges join.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from weft.discovery.core.agents import WorkloadRef
from weft.discovery.core.graph_model import (AI_KINDS, ENDPOINT, EXTERNAL, LAYERS, MCP_SERVER, MODEL, SERVICE, Edge,
                                             Graph, Node, crosses_provider, node_id, node_order)
from weft.discovery.core.graph_observations import Call, Observations
from weft.discovery.core.graph_resolve import Fleet, Key, Tally, resolve, workload_key


@dataclass
class _Folded:
    layers: dict[str, Tally] = field(default_factory=dict)
    via: set[str] = field(default_factory=set)
    endpoints: set[str] = field(default_factory=set)


def build(obs: Observations, kinds: Mapping[WorkloadRef, str], names: Mapping[WorkloadRef, str]) -> Graph:
    fleet = Fleet(obs)
    folded = _fold(obs, fleet)
    nodes = {key: _node(key, fleet, kinds, names) for pair in folded for key in pair}
    for ref in obs.names:
        if kinds.get(ref) in AI_KINDS:
            nodes.setdefault(workload_key(ref), _node(workload_key(ref), fleet, kinds, names))
    kept = _reached(folded, nodes)
    shown = sorted({k for pair in kept for k in pair} | {k for k, n in nodes.items() if n.kind in AI_KINDS},
                   key=lambda k: node_order(nodes[k]))
    order = {k: i for i, k in enumerate(shown)}
    kept.sort(key=lambda pair: (order[pair[0]], order[pair[1]]))
    edges = [_edge(nodes[a], nodes[b], folded[(a, b)]) for a, b in kept]
    return Graph(tuple(nodes[k] for k in shown), tuple(edges))


def _fold(obs: Observations, fleet: Fleet) -> dict[tuple[Key, Key], _Folded]:
    asked = {(c.source, c.host) for c in obs.calls if c.layer != "tcp" and c.host}
    out: dict[tuple[Key, Key], _Folded] = {}
    for call, seen in sorted(obs.calls.items(), key=lambda kv: kv[0]):
        if call.layer == "tcp" and call.host and (call.source, call.host) in asked:
            continue
        source = workload_key(call.source)
        for target, via, tally in resolve(call, seen, fleet):
            if target == source:
                continue
            f = out.setdefault((source, target), _Folded())
            f.layers.setdefault(call.layer, Tally()).add(tally.count, tally.first, tally.last)
            f.via.add(via)
            f.endpoints.add(_endpoint(call))
    return out


def _endpoint(call: Call) -> str:
    """A connection as `tcp://host:port`; a request as the caller addressed it."""
    if call.layer != "tcp":
        return call.endpoint
    host = call.host or call.ip
    return f"tcp://[{host}]:{call.port}" if ":" in host else f"tcp://{host}:{call.port}"


def _node(key: Key, fleet: Fleet, kinds: Mapping[WorkloadRef, str], names: Mapping[WorkloadRef, str]) -> Node:
    tag, ident = key[0], node_id(*key)
    if tag == "workload":
        ref = WorkloadRef(*key[1:])
        kind = kinds.get(ref, SERVICE)
        name = names.get(ref) or fleet.obs.names.get(ref) or f"{ref.namespace}/{ref.name}"
        return Node(ident, kind if kind in AI_KINDS else SERVICE, name, ref.cluster, fleet.provider(ref.cluster))
    if tag == "local":                       # an MCP server the workload runs itself (stdio, localhost)
        return Node(ident, MCP_SERVER, key[4], key[1], fleet.provider(key[1]))
    if tag == "model":
        provider, model = key[1], key[2]
        return Node(ident, MODEL, f"{provider}/{model}" if provider else model, "", provider)
    if tag == "endpoint":
        return Node(ident, ENDPOINT, key[2], key[1], fleet.provider(key[1]))
    return Node(ident, EXTERNAL, key[1], "", "")


def _reached(folded: dict[tuple[Key, Key], _Folded], nodes: dict[Key, Node]) -> list[tuple[Key, Key]]:
    """Edges whose caller is an AI workload or is called, however indirectly, by one."""
    calls: dict[Key, list[Key]] = {}
    for a, b in folded:
        calls.setdefault(a, []).append(b)
    seen = {k for k, n in nodes.items() if n.kind in AI_KINDS}
    todo = sorted(seen)
    while todo:
        for b in calls.get(todo.pop(), ()):
            if b not in seen:
                seen.add(b)
                todo.append(b)
    return [pair for pair in folded if pair[0] in seen]


def _edge(a: Node, b: Node, f: _Folded) -> Edge:
    kind = next(layer for layer in LAYERS if layer in f.layers)
    tallies = f.layers.values()
    return Edge(a.id, b.id, kind, f.layers[kind].count, min(t.first for t in tallies), max(t.last for t in tallies),
                crosses_provider(a, b), tuple(sorted(f.via)), tuple(sorted(f.endpoints)))
