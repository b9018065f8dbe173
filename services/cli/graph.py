"""`weft graph`: the cross-cloud execution graph — agents, tools, MCP servers, models,
data services and external endpoints, with the calls between them."""
from __future__ import annotations

import argparse

from weft.cli import api

EPILOG = """Edges that cross a provider boundary are marked crossProvider (json), drawn bold
(dot) or thick (mermaid). discovery also serves the graph as a page at /graph.

examples:
  weft graph                           JSON
  weft graph --format dot | dot -Tsvg > graph.svg
  weft graph --format mermaid          paste into any Mermaid renderer
"""


def register(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.add_argument("--format", choices=["json", "dot", "mermaid"], default="json")
    p.add_argument("--data-dir", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.format == "json":
        import json
        print(json.dumps(api.call("/v1/graph", query={"format": "json"}, data_dir=args.data_dir), indent=2))
    else:
        print(api.call("/v1/graph", query={"format": args.format}, data_dir=args.data_dir, raw=True))
    return 0
