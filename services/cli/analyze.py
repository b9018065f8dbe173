"""`weft analyze FILE...`: every stage's logic offline, over files — the inventory
(from runtime events), findings, alerts (provider findings as OCSF) and stories."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from weft.cli.offline import Options, analyze

EPILOG = """Input is recognised by content, as `weft ingest` does: runtime events (JSON Lines
of weft.v1.RuntimeEvent), provider findings, audit logs and declarations, in any mix.
Windows run on event time, so the answers equal a live weft's for the same input.

examples:
  weft events export --since 1h > events.jsonl && weft analyze events.jsonl
  weft analyze events.jsonl guardduty.json defender.json scc.json --json
"""


def register(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--json", action="store_true", help="print {inventory, findings, alerts, stories, problems}")
    p.add_argument("--learning-window", default="24h", help="as discovery's --learning-window")
    p.add_argument("--learning-quiet", default="", help="as discovery's --learning-quiet")
    p.add_argument("--fingerprints", action="append", default=[], help="extra fingerprint YAML dir or file")
    p.add_argument("--inventory-file", default="", help="declared agents (for shadow AI)")
    p.add_argument("--default-cluster", default="default", help="cluster of events that name none")
    p.add_argument("--format", help="read every record as this format instead of recognising it "
                                    "(the names `weft ingest --format` takes)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from weft.cli.main import CliError
    try:
        result = analyze(args.files, Options(args.learning_window, args.learning_quiet, args.fingerprints,
                                             args.inventory_file, args.default_cluster, args.format))
    except ValueError as e:   # a bad duration, a bad inventory or fingerprint file
        raise CliError(str(e), code=2) from None
    if args.json:
        print(json.dumps(result.to_json(), indent=2, sort_keys=True))
    else:
        print(summary(result))
    return 1 if result.problems and not (result.inventory or result.alerts) else 0


def summary(result) -> str:
    from weft.cli.agents import table
    lines = ["inventory:", table(result.inventory), "",
             f"alerts: {len(result.alerts)}   findings: {len(result.findings)}   stories: {len(result.stories)}"]
    lines += [f"problem: {p['location']}: {p['reason']}" for p in result.problems[:20]]
    if len(result.problems) > 20:
        lines.append(f"... and {len(result.problems) - 20} more problems (--json lists them all)")
    return "\n".join(lines)
