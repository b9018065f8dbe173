"""The execution graph as text: JSON (the stable schema below), Graphviz DOT and Mermaid
`flowchart LR`. Pure functions; the same graph always renders to the same bytes.

JSON: {"nodes": [{id, kind, name, cluster, provider}],
       "edges": [{from, to, kind, count, firstSeen, lastSeen, crossProvider, via}]}
times are epoch seconds of event time; `via` lists how the target was told.
DOT and Mermaid group fleet nodes by cluster and draw cross-provider edges bold red.
"""
from __future__ import annotations

import hashlib
import json
import re

from weft.discovery.core.graph_model import Edge, Graph, Node

CROSS_COLOUR = "#d62728"
DOT_SHAPES = {"agent": "box", "mcp_server": "component", "tool": "component", "inference_server": "box3d",
              "model": "ellipse", "service": "cylinder", "endpoint": "note", "external": "octagon"}
MERMAID_SHAPES = {"agent": ('(["', '"])'), "mcp_server": ('[["', '"]]'), "tool": ('[["', '"]]'),
                  "inference_server": ('{{"', '"}}'), "model": ('{{"', '"}}'), "service": ('[("', '")]'),
                  "endpoint": ('[/"', '"/]'), "external": ('[/"', '"/]')}
_MERMAID_SAFE = re.compile(r"[A-Za-z0-9 ./_:@,+=()-]")


def to_json(graph: Graph) -> dict:
    return {"nodes": [{"id": n.id, "kind": n.kind, "name": n.name, "cluster": n.cluster, "provider": n.provider}
                      for n in graph.nodes],
            "edges": [{"from": e.source, "to": e.target, "kind": e.kind, "count": e.count, "firstSeen": e.first_seen,
                       "lastSeen": e.last_seen, "crossProvider": e.cross_provider, "via": list(e.via)}
                      for e in graph.edges]}


def render_json(graph: Graph) -> str:
    return json.dumps(to_json(graph), indent=2, ensure_ascii=False) + "\n"


def edge_label(e: Edge) -> str:
    return f"{e.kind} ({e.count})"


def cluster_label(n: Node) -> str:
    return f"{n.cluster} ({n.provider})" if n.provider else n.cluster


def by_cluster(graph: Graph) -> tuple[dict[str, list[Node]], list[Node]]:
    """Fleet nodes per cluster (clusters sorted), and the nodes outside the fleet."""
    groups: dict[str, list[Node]] = {}
    for n in graph.nodes:
        if n.in_fleet:
            groups.setdefault(n.cluster, []).append(n)
    return dict(sorted(groups.items())), [n for n in graph.nodes if not n.in_fleet]


def dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "\\n") + '"'


def render_dot(graph: Graph) -> str:
    lines = ["digraph weft {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=9];']
    clusters, outside = by_cluster(graph)
    for cluster, nodes in clusters.items():
        lines.append(f"  subgraph {dot_quote('cluster_' + cluster)} {{")
        lines.append(f"    label={dot_quote(cluster_label(nodes[0]))};")
        lines += [f"    {_dot_node(n)}" for n in nodes]
        lines.append("  }")
    lines += [f"  {_dot_node(n)}" for n in outside]
    for e in graph.edges:
        style = f', color="{CROSS_COLOUR}", penwidth=2.5' if e.cross_provider else ""
        lines.append(f"  {dot_quote(e.source)} -> {dot_quote(e.target)} [label={dot_quote(edge_label(e))}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_node(n: Node) -> str:
    return (f"{dot_quote(n.id)} [label={dot_quote(n.name + chr(10) + n.kind)}, "
            f"shape={DOT_SHAPES.get(n.kind, 'box')}];")


def mermaid_text(text: str) -> str:
    """Text for inside a quoted Mermaid label: anything but plain characters as `#code;`."""
    return "".join(c if _MERMAID_SAFE.match(c) else f"#{ord(c)};" for c in text)


def mermaid_id(node_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", node_id)


def render_mermaid(graph: Graph) -> str:
    lines = ["flowchart LR"]
    clusters, outside = by_cluster(graph)
    for cluster, nodes in clusters.items():
        sub = "c_" + hashlib.sha256(cluster.encode("utf-8")).hexdigest()[:12]
        lines.append(f'  subgraph {sub}["{mermaid_text(cluster_label(nodes[0]))}"]')
        lines += [f"    {_mermaid_node(n)}" for n in nodes]
        lines.append("  end")
    lines += [f"  {_mermaid_node(n)}" for n in outside]
    cross = []
    for i, e in enumerate(graph.edges):
        arrow = "==>" if e.cross_provider else "-->"
        lines.append(f'  {mermaid_id(e.source)} {arrow}|"{mermaid_text(edge_label(e))}"| {mermaid_id(e.target)}')
        if e.cross_provider:
            cross.append(str(i))
    if cross:
        lines.append(f"  linkStyle {','.join(cross)} stroke:{CROSS_COLOUR},stroke-width:3px")
    return "\n".join(lines) + "\n"


def _mermaid_node(n: Node) -> str:
    opening, closing = MERMAID_SHAPES.get(n.kind, ('["', '"]'))
    return f"{mermaid_id(n.id)}{opening}{mermaid_text(n.name)}<br/>{mermaid_text(n.kind)}{closing}"


RENDERERS = {"json": render_json, "dot": render_dot, "mermaid": render_mermaid}


def render(graph: Graph, fmt: str) -> str:
    """`weft graph --format json|dot|mermaid`."""
    try:
        return RENDERERS[fmt](graph)
    except KeyError:
        raise ValueError(f"unknown graph format {fmt!r}; choose one of {', '.join(RENDERERS)}") from None
