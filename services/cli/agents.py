"""`weft agents`: the AI agents, inference servers, MCP servers and tools found at runtime."""
from __future__ import annotations

import argparse
import json

from weft.cli import api

KINDS = ("agent", "inference-server", "mcp-server", "tool")
EPILOG = """examples:
  weft agents                      every workload weft found, what it is and where it runs
  weft agents --kind agent --shadow   agents running without being declared
  weft agents --json               for machines: id, name, kind, confidence, clusters, evidence
"""


def register(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.add_argument("--kind", choices=KINDS, help="only this kind")
    p.add_argument("--shadow", action="store_true", help="only agents not in the declared inventory")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--data-dir", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    found = api.call("/v1/agents", data_dir=args.data_dir)["agents"]
    found = [a for a in found if (not args.kind or a["kind"] == args.kind) and (not args.shadow or a["shadow"])]
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    print(table(found))
    return 0


def table(found: list[dict]) -> str:
    if not found:
        return "no agents, inference servers, MCP servers or tools seen yet"
    rows = [("ID", "NAME", "KIND", "CONF", "CLUSTERS", "SHADOW")]
    rows += [(a["id"], a["name"], a["kind"], f"{a['confidence']:.2f}", ",".join(a["clusters"]),
              "yes" if a["shadow"] else "") for a in found]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
