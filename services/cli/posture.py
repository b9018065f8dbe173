"""`weft posture` and `weft identity`: what posture found along each agent's cross-cloud
identity chain — permissions granted and never used (with a least-privilege fix),
federation gaps, what a compromise reaches."""
from __future__ import annotations

import argparse
import json

from weft.cli import api

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")
EPILOG = """examples:
  weft posture                         findings, most severe first
  weft posture --json                  with evidence and the fix in each provider's format
  weft identity support-bot            its chain: Kubernetes SA → AWS role → Azure identity → GCP
"""


def register(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.add_argument("--severity", choices=SEVERITIES, help="only this severity and above")
    p.add_argument("--json", action="store_true")
    p.add_argument("--data-dir", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    body = api.call("/v1/findings", service="posture", data_dir=args.data_dir)
    found = sorted(body["findings"], key=lambda f: (_rank(f["severity"]), f["kind"], f["id"]))
    if args.severity:
        found = [f for f in found if _rank(f["severity"]) <= _rank(args.severity)]
    if args.json:
        print(json.dumps({**body, "findings": found}, indent=2))
        return 0
    if not found:
        print("no posture findings (declarations, audit logs and profiles go in with `weft ingest`)")
    for f in found:
        print(f"{f['severity']:<8} {f['kind']:<28} {f.get('agent') or '-':<28} {f['title']}")
    for p in body.get("problems", [])[:10]:
        print(f"problem: {p}")
    return 0


def _rank(severity: str) -> int:
    s = severity.upper()
    return SEVERITIES.index(s) if s in SEVERITIES else len(SEVERITIES)


def register_identity(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.add_argument("agent", metavar="AGENT", help="name, short name or id")
    p.add_argument("--json", action="store_true")
    p.add_argument("--data-dir", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run_identity)


def run_identity(args: argparse.Namespace) -> int:
    chains = api.call("/v1/identity", service="posture", query={"agent": args.agent}, data_dir=args.data_dir)["chains"]
    if args.json:
        print(json.dumps(chains, indent=2))
        return 0
    for c in chains:
        s = c["subject"]
        print(f"{c['agent']} ({c['id']}): {s['cluster'] or '?'}/{s['namespace']}/{s['serviceAccount']}")
        for link in c["links"]:
            print(f"  → {link['cloud']:<10} {link['identity']}  via {link['via']}  [{link['status']}]"
                  + (f"  disagrees: {'; '.join(link['disagreements'])}" if link["disagreements"] else ""))
    return 0
