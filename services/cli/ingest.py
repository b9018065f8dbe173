"""`weft ingest FILE...`: send provider alerts, audit logs, declarations or runtime
events to the running weft. discovery recognises each record's format by content and
publishes it; this prints what was accepted, by format, and every problem with its line."""
from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from weft.cli import endpoint
from weft.cli.main import CliError

TIMEOUT_S = 300


def register(p: argparse.ArgumentParser) -> None:
    from weft.discovery.core.recognise import FORMATS
    p.epilog = ("examples:\n  weft ingest guardduty-findings.json cloudtrail.jsonl manifests.yaml\n"
                "  kubectl get deploy,sa -A -o yaml | weft ingest -\n"
                "  weft ingest --format falco falco-events.log --json\n\n"
                "formats (recognised by content; --format skips recognition):\n  " + ", ".join(sorted(FORMATS)))
    p.add_argument("files", nargs="+", metavar="FILE", help="a file to send; - reads standard input")
    p.add_argument("--format", choices=sorted(FORMATS), metavar="FORMAT",
                   help="treat every record as this format instead of recognising it")
    p.add_argument("--json", action="store_true", help="print one JSON report for machines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ep = endpoint.load()
    if not ep.ingest:
        raise CliError("the running weft's run file names no ingest endpoint (is discovery up?)")
    base = ep.ingest
    from weft.cli.api import token as api_token
    token = os.environ.get("WEFT_INGEST_TOKEN") or api_token(ep)
    reports = [send(base, name, args.format, token) for name in args.files]
    if args.json:
        json.dump({"files": reports}, sys.stdout, indent=2)
        print()
    else:
        for report in reports:
            print_report(report)
    return 1 if any(r.get("error") or r.get("problems") for r in reports) else 0


def send(base: str, name: str, fmt: str | None, token: str) -> dict:
    """POST one file; the report is discovery's answer, or {file, error}."""
    source = "stdin" if name == "-" else Path(name).name
    try:
        data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as e:
        return {"file": name, "error": f"cannot read: {e.strerror or e}"}
    query = urllib.parse.urlencode({"source": source, **({"format": fmt} if fmt else {})})
    headers = {"Content-Type": "application/octet-stream", **({"Authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(f"{base.rstrip('/')}/v1/ingest?{query}", data=data, headers=headers,
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return {"file": name, **json.loads(response.read())}
    except urllib.error.HTTPError as e:
        return {"file": name, "error": _reason(e)}
    except (urllib.error.URLError, OSError) as e:
        raise CliError(f"cannot reach weft's ingest endpoint at {base}: {getattr(e, 'reason', e)}") from None


def _reason(e: urllib.error.HTTPError) -> str:
    try:
        reason = json.loads(e.read()).get("error", "")
    except (ValueError, AttributeError):
        reason = ""
    if e.code == 401:
        reason += " - set WEFT_API_TOKEN (or WEFT_INGEST_TOKEN) to the token weft was started with"
    return f"HTTP {e.code}: {reason or e.reason}"


def print_report(report: dict) -> None:
    name = report["file"]
    if report.get("error"):
        print(f"{name}: {report['error']}")
        return
    accepted = ", ".join(f"{n} {fmt}" for fmt, n in sorted(report.get("accepted", {}).items()))
    problems = report.get("problems", [])
    summary = f"accepted {accepted}" if accepted else "nothing accepted"
    if problems:
        summary += f"; {len(problems)} problem{'s' if len(problems) != 1 else ''}"
    print(f"{name}: {summary}")
    for p in problems:
        print(f"  {p['location']}: {p['reason']}")
