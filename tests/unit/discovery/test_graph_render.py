"""The execution graph rendered: JSON in its stable schema, Graphviz DOT and Mermaid with
every name escaped (model names and MCP commands are whatever a caller sent), and the
self-contained HTML page the discovery service serves."""
import html
import json
import re
from xml.etree import ElementTree

import pytest
from observe_events import cross_cloud_fleet

from weft.discovery.core.classify import Observer
from weft.discovery.core.fingerprints import Catalogue, load_catalogue
from weft.discovery.core.graph import ExecutionGraph
from weft.discovery.core.graph_model import Edge, Graph, Node
from weft.discovery.core.graph_page import render_page
from weft.discovery.core.graph_render import render, render_dot, render_json, render_mermaid, to_json

ODD = 'gpt "x"]; click A | #1 <b>end</b>\\n\n{y}'      # a model name as an LLM request may carry it
ODD_CLUSTER = 'prod "eu"'
GRAPH = Graph(
    nodes=(Node("n-a", "agent", "agents/agent", "eks", "aws"),
           Node("n-b", "mcp_server", "tools/records", "aks", "azure"),
           Node("n-c", "agent", "agents/odd", ODD_CLUSTER, "other"), Node("n-d", "model", ODD, "", "openai")),
    edges=(Edge("n-a", "n-b", "mcp", 3, 10, 20, True, ("mcp_session",), ("records:8080/mcp",)),
           Edge("n-a", "n-d", "llm", 1, 5, 5, False, ("llm_request",), ("api.openai.com/v1/chat",)),
           Edge("n-c", "n-b", "tcp", 2, 7, 9, True, ("egress_ip",), ("tcp://10.77.2.10:8080",))))


def test_json_has_the_stable_schema():
    assert to_json(GRAPH) == {
        "nodes": [{"id": "n-a", "kind": "agent", "name": "agents/agent", "cluster": "eks", "provider": "aws"},
                  {"id": "n-b", "kind": "mcp_server", "name": "tools/records", "cluster": "aks", "provider": "azure"},
                  {"id": "n-c", "kind": "agent", "name": "agents/odd", "cluster": ODD_CLUSTER, "provider": "other"},
                  {"id": "n-d", "kind": "model", "name": ODD, "cluster": "", "provider": "openai"}],
        "edges": [{"from": "n-a", "to": "n-b", "kind": "mcp", "count": 3, "firstSeen": 10, "lastSeen": 20,
                   "crossProvider": True, "via": ["mcp_session"]},
                  {"from": "n-a", "to": "n-d", "kind": "llm", "count": 1, "firstSeen": 5, "lastSeen": 5,
                   "crossProvider": False, "via": ["llm_request"]},
                  {"from": "n-c", "to": "n-b", "kind": "tcp", "count": 2, "firstSeen": 7, "lastSeen": 9,
                   "crossProvider": True, "via": ["egress_ip"]}]}
    assert json.loads(render_json(GRAPH)) == to_json(GRAPH)


def dot_unquote(text: str) -> str:
    return re.sub(r'\\(.)', lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), text)


def test_dot_quotes_every_name_and_marks_cross_provider_edges():
    dot = render_dot(GRAPH)
    assert dot.startswith("digraph weft {\n") and dot.endswith("}\n")
    quoted = re.findall(r'"((?:[^"\\]|\\.)*)"', dot)
    assert f"{ODD}\nmodel" in [dot_unquote(q) for q in quoted]                 # the odd name survives whole
    assert f"{ODD_CLUSTER} (other)" in [dot_unquote(q) for q in quoted]
    for line in dot.splitlines():                                           # no quote left open
        assert len(re.findall(r'(?<!\\)"', re.sub(r"\\\\", "", line))) % 2 == 0, line
    red = [line for line in dot.splitlines() if "#d62728" in line]
    assert red == ['  "n-a" -> "n-b" [label="mcp (3)", color="#d62728", penwidth=2.5];',
                   '  "n-c" -> "n-b" [label="tcp (2)", color="#d62728", penwidth=2.5];']
    assert dot.count("subgraph") == 3                                       # eks, aks, the odd cluster


def mermaid_decode(text: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), text)


def test_mermaid_escapes_ids_and_labels_and_styles_cross_provider_links():
    mermaid = render_mermaid(GRAPH)
    lines = mermaid.splitlines()
    assert lines[0] == "flowchart LR"
    labels = re.findall(r'"([^"]*)"', mermaid)
    plain = [re.sub(r"#\d+;", "", label.replace("<br/>", "")) for label in labels]
    assert all(not re.search(r'[\[\]{}|;<>#\\\n]', text) for text in plain), plain
    assert f"{ODD}<br/>model" in [mermaid_decode(label) for label in labels]
    links = [line.strip() for line in lines if "-->" in line or "==>" in line]
    assert links == ['n_a ==>|"mcp (3)"| n_b', 'n_a -->|"llm (1)"| n_d', 'n_c ==>|"tcp (2)"| n_b']
    assert lines[-1] == "  linkStyle 0,2 stroke:#d62728,stroke-width:3px"
    ids = {m for line in lines for m in re.findall(r"^\s+(\w+)[\[({/]", line)}
    assert {"n_a", "n_b", "n_c", "n_d"} <= ids and all(re.fullmatch(r"[A-Za-z0-9_]+", i) for i in ids)


def test_render_by_format_name():
    assert render(GRAPH, "json") == render_json(GRAPH)
    assert render(GRAPH, "dot") == render_dot(GRAPH)
    assert render(GRAPH, "mermaid") == render_mermaid(GRAPH)
    with pytest.raises(ValueError, match="json, dot, mermaid"):
        render(GRAPH, "svg")


@pytest.fixture(scope="module")
def fleet() -> Graph:
    events = cross_cloud_fleet()
    observer, graph = Observer(Catalogue(load_catalogue())), ExecutionGraph()
    observer.observe(events)
    graph.add(events)
    return graph.snapshot(observer.inventory())


def test_the_page_draws_every_node_and_edge_and_fetches_nothing(fleet):
    page = render_page(fleet)
    assert page.startswith("<!doctype html>") and "<svg" in page
    for n in fleet.nodes:
        assert f'id="{n.id}"' in page and html.escape(n.name) in page
    drawn = re.findall(r'<g data-from="([^"]+)" data-to="([^"]+)">.*?class="(edge(?: cross)?)"', page)
    assert sorted(drawn) == sorted((e.source, e.target, "edge cross" if e.cross_provider else "edge")
                                   for e in fleet.edges)
    assert "<script" not in page and re.findall(r"https?://[^\s\"']+", page) == ["http://www.w3.org/2000/svg"]
    assert len(svg_of(page).findall("{http://www.w3.org/2000/svg}g")) == len(fleet.nodes) + len(fleet.edges)


def svg_of(page: str) -> ElementTree.Element:
    """The drawing, parsed as XML: it must be well-formed whatever the names."""
    return ElementTree.fromstring(page[page.index("<svg"):page.index("</svg>") + len("</svg>")])


def test_the_page_escapes_what_callers_named():
    page = render_page(GRAPH)
    texts = [t.text for t in svg_of(page).iter("{http://www.w3.org/2000/svg}title")]
    assert any(t.startswith(ODD) for t in texts)                  # the whole name, in the tooltip
    assert html.escape("gpt \"x\"]; click A | #1 <b>end</b>") in page
    assert "<b>end</b>" not in page
    assert page.count('class="edge cross"') == 2


def test_every_rendering_is_the_same_bytes_for_the_same_graph(fleet):
    again = Graph(tuple(fleet.nodes), tuple(fleet.edges))
    for fmt in ("json", "dot", "mermaid"):
        assert render(again, fmt) == render(fleet, fmt)
    assert render_page(again) == render_page(fleet)
