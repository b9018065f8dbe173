"""`weft agent REF`: one agent — what it is, where it runs, why, and its behaviour profile."""
from __future__ import annotations

import argparse
import json

from weft.cli import api

EPILOG = """REF is the agent's name (payments/support-bot), its short name (support-bot) or
its id, or an unambiguous prefix of any of them.

examples:
  weft agent support-bot
  weft agent agents/support-bot --json
"""
SECTIONS = ("execs", "opens", "egress", "dns", "ingress", "models", "mcp")


def register(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.add_argument("ref", metavar="REF")
    p.add_argument("--json", action="store_true", help="print the entry and the whole profile as JSON")
    p.add_argument("--data-dir", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    found = api.call(f"/v1/agents/{api.quote(args.ref)}", data_dir=args.data_dir)
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    print(describe(found))
    return 0


def describe(found: dict) -> str:
    a, p = found.get("agent") or {}, found.get("profile") or {}
    lines = [f"{a.get('name') or p.get('agent')}  ({a.get('id') or p.get('id')})"]
    if a:
        lines.append(f"  kind {a['kind']} (confidence {a['confidence']:.2f})"
                     + (f"  SHADOW: {a['shadowReason']}" if a["shadow"] else ""))
        lines.append("  runs in " + ", ".join(f"{w['cluster']}/{w['namespace']}/{w['name']}" for w in a["workloads"]))
        lines += [f"  evidence: {e}" for e in a["evidence"][:5]]
    if p:
        lines.append(f"  profile {p['status']}" + (f", ready at {p['readyAt']}" if p.get("readyAt") else ""))
        for section in SECTIONS:
            if p.get(section):
                lines.append(f"  {section}: {len(p[section])}")
        for d in p.get("deviations", []):
            lines.append(f"  NEW {d['kind']}: " + " ".join(str(v) for k, v in d.items() if k not in ("kind", "firstSeen")))
    return "\n".join(lines)
