"""A self-contained HTML page that draws the execution graph: an inline SVG laid out in
columns (agents -> MCP servers and tools -> models, data services and endpoints), no
script and nothing fetched when it is viewed. Pure: a graph in, a string out; the shell
serves it."""
from __future__ import annotations

from html import escape

from weft.discovery.core.graph_model import COLUMN, Edge, Graph, Node
from weft.discovery.core.graph_render import CROSS_COLOUR, edge_label

COLUMN_TITLES = ("Agents", "MCP servers and tools", "Models, services and endpoints")
BOX_W, BOX_H, COL_GAP, ROW_GAP, TOP, LEFT = 250, 44, 170, 22, 56, 24
MAX_SHOWN = 34                     # characters of a name drawn in a box (all of it in the tooltip)
FILLS = {"aws": "#fff1e0", "azure": "#e3f0fb", "gcp": "#e6f4ea", "other": "#f1ecf7", "": "#f3f3f3"}
STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 18px; margin: 0 0 4px; } p { margin: 0 0 12px; color: #555; font-size: 13px; }
svg text { font-size: 12px; } svg .kind { fill: #666; font-size: 10px; } svg .head { font-weight: bold; }
svg .edge { fill: none; stroke: #888; stroke-width: 1.3; } svg .edge.cross { stroke: %s; stroke-width: 2.6; }
svg .count { fill: #555; font-size: 10px; } svg .node rect { stroke: #999; rx: 6; }
""" % CROSS_COLOUR


def render_page(graph: Graph, title: str = "weft: cross-cloud execution graph") -> str:
    places = _layout(graph.nodes)
    rows = max((sum(1 for n in graph.nodes if COLUMN.get(n.kind, 2) == c) for c in range(3)), default=0)
    width = LEFT * 2 + 3 * BOX_W + 2 * COL_GAP
    height = TOP + rows * (BOX_H + ROW_GAP) + 20
    cross = sum(e.cross_provider for e in graph.edges)
    body = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#888"/></marker></defs>']
    body += [f'<text class="head" x="{LEFT + c * (BOX_W + COL_GAP)}" y="{TOP - 24}">{escape(t)}</text>'
             for c, t in enumerate(COLUMN_TITLES)]
    body += [_edge(e, places) for e in graph.edges]
    body += [_node(n, places[n.id]) for n in graph.nodes]
    body.append("</svg>")
    summary = (f"{len(graph.nodes)} nodes, {len(graph.edges)} edges, {cross} crossing a provider boundary "
               f"(red). Boxes are coloured by cloud.")
    return ("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{escape(title)}</h1>\n<p>{escape(summary)}</p>\n" + "\n".join(body) + "\n</body>\n</html>\n")


def _layout(nodes: tuple[Node, ...]) -> dict[str, tuple[int, int]]:
    """Top-left corner of each node's box: its column by kind, rows in graph order."""
    rows = [0, 0, 0]
    out = {}
    for n in nodes:
        c = COLUMN.get(n.kind, 2)
        out[n.id] = (LEFT + c * (BOX_W + COL_GAP), TOP + rows[c] * (BOX_H + ROW_GAP))
        rows[c] += 1
    return out


def _node(n: Node, at: tuple[int, int]) -> str:
    x, y = at
    shown = n.name if len(n.name) <= MAX_SHOWN else n.name[:MAX_SHOWN - 1] + "\u2026"
    where = f"{n.cluster} ({n.provider})" if n.cluster else (n.provider or "outside the fleet")
    tip = f"{n.name}\n{n.kind}, {where}\n{n.id}"
    return (f'<g class="node" id="{escape(n.id)}" data-kind="{escape(n.kind)}"><title>{escape(tip)}</title>'
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" fill="{FILLS.get(n.provider, FILLS[""])}"/>'
            f'<text x="{x + 8}" y="{y + 18}">{escape(shown)}</text>'
            f'<text class="kind" x="{x + 8}" y="{y + 34}">{escape(n.kind)} \u00b7 {escape(where)}</text></g>')


def _edge(e: Edge, places: dict[str, tuple[int, int]]) -> str:
    (sx, sy), (tx, ty) = places[e.source], places[e.target]
    x1, y1, y2 = sx + BOX_W, sy + BOX_H // 2, ty + BOX_H // 2
    if tx > sx:                                   # forward: right side to left side
        x2, bend = tx, (tx - x1) // 2
        path = f"M {x1} {y1} C {x1 + bend} {y1}, {x2 - bend} {y2}, {x2} {y2}"
    else:                                         # same column or backwards: out and back to the right side
        x2 = tx + BOX_W
        path = f"M {x1} {y1} C {x1 + 60} {y1}, {x2 + 60} {y2}, {x2} {y2}"
    cls = "edge cross" if e.cross_provider else "edge"
    tip = f"{edge_label(e)}; via {', '.join(e.via)}" + ("; crosses providers" if e.cross_provider else "")
    mid_x, mid_y = (x1 + x2) // 2, (y1 + y2) // 2 - 4
    return (f'<g data-from="{escape(e.source)}" data-to="{escape(e.target)}"><title>{escape(tip)}</title>'
            f'<path class="{cls}" d="{path}" marker-end="url(#arrow)"/>'
            f'<text class="count" x="{mid_x}" y="{mid_y}">{escape(edge_label(e))}</text></g>')
