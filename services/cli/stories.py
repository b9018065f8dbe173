"""`weft stories` and `weft story ID`: attack stories — signals from every provider and
weft's own detections told as one story per attack, with its identity chain."""
from __future__ import annotations

import argparse
import json

from weft.cli import api

EPILOG = """examples:
  weft stories                         open stories, most severe first
  weft story st-1a2b… --format markdown   an incident report a SOC analyst can act on
  weft story st-1a2b… --format ocsf    OCSF Incident Finding (2005) referencing its Detection Findings
  weft story st-1a2b… --ack | --close | --false-positive "load test from the red team"
"""
ORDER = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3, "INFO": 4}


def register(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.add_argument("--json", action="store_true")
    p.add_argument("--data-dir", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    found = api.call("/v1/stories", service="detect", data_dir=args.data_dir)["stories"]
    found.sort(key=lambda s: (ORDER.get(s["severity"], 9), s["id"]))
    if args.json:
        print(json.dumps(found, indent=2))
    elif not found:
        print("no attack stories")
    for s in [] if args.json else found:
        print(f"{s['id']}  {s['severity']:<8} {s['status']:<13} {','.join(s['providers']):<16} {s['title']}")
    return 0


def register_story(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.add_argument("id", metavar="ID")
    p.add_argument("--format", choices=["markdown", "json", "ocsf"], default="markdown")
    triage = p.add_mutually_exclusive_group()
    triage.add_argument("--ack", action="store_true", help="acknowledge: someone is on it")
    triage.add_argument("--close", action="store_true")
    triage.add_argument("--false-positive", metavar="REASON", help="close as not an attack; prints the "
                        "suppression that would have prevented it")
    p.add_argument("--data-dir", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run_story)


def run_story(args: argparse.Namespace) -> int:
    path = f"/v1/stories/{api.quote(args.id)}"
    action = "ack" if args.ack else "close" if args.close else "false-positive" if args.false_positive else ""
    if action:
        body = api.call(f"{path}/triage", method="POST", service="detect", data_dir=args.data_dir,
                        body={"action": action, "reason": args.false_positive or ""})
        print(f"{body['story']['id']}: {body['story']['status']}")
        if body.get("suppression"):
            print("suppression that would have prevented it:")
            print(json.dumps(body["suppression"], indent=2))
        return 0
    if args.format == "markdown":
        print(api.call(path, query={"format": "markdown"}, service="detect", data_dir=args.data_dir, raw=True))
    else:
        print(json.dumps(api.call(path, query={"format": args.format}, service="detect", data_dir=args.data_dir),
                         indent=2))
    return 0
