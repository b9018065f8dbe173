"""`weft alerts`: the newest alerts — provider findings and weft's own detections — as OCSF."""
from __future__ import annotations

import argparse
import json

from weft.cli import api

EPILOG = """examples:
  weft alerts                      newest first: time, severity, source, title
  weft alerts --json --limit 1000  OCSF Detection Findings (class 2004)
"""
SEVERITY = {0: "UNKNOWN", 1: "INFO", 2: "LOW", 3: "MEDIUM", 4: "HIGH", 5: "CRITICAL", 6: "FATAL", 99: "OTHER"}


def register(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.add_argument("--data-dir", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    found = api.call("/v1/alerts", query={"limit": max(1, args.limit)}, service="detect", data_dir=args.data_dir)["alerts"]
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    for a in found:
        product = a.get("metadata", {}).get("product", {}).get("name", "")
        print(f"{SEVERITY.get(a.get('severity_id'), '?'):<8} {product:<22} {a.get('finding_info', {}).get('title', '')}")
    return 0
