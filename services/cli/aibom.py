"""`weft aibom AGENT | --all`: the AI-BOM, CycloneDX 1.6 JSON, from runtime evidence."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from weft.cli import api

EPILOG = """The agent is an application component; frameworks it loaded are framework or
library components with purls; models are machine-learning-model components; model
APIs and remote MCP servers are services with endpoints, trust zone and data flows;
stdio MCP servers are components it depends on. Evidence: instrumentation.

examples:
  weft aibom support-bot > support-bot.cdx.json
  weft aibom --all --out fleet.cdx.json
"""


def register(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.add_argument("agent", nargs="?", metavar="AGENT", help="name, short name or id")
    p.add_argument("--all", action="store_true", help="one BOM for every agent found")
    p.add_argument("--out", type=Path, help="write here instead of standard output")
    p.add_argument("--data-dir", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from weft.cli.main import CliError
    if bool(args.agent) == args.all:
        raise CliError("give one AGENT, or --all", code=2)
    query = {"all": "1"} if args.all else {"agent": args.agent}
    text = json.dumps(api.call("/v1/aibom", query=query, data_dir=args.data_dir), indent=2) + "\n"
    if args.out:
        args.out.write_text(text)
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0
