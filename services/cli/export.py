"""`weft export`: alerts and stories, in OCSF, to a webhook, syslog or a JSON Lines file,
as a bus subscriber that resumes where it stopped."""
from __future__ import annotations

import argparse
import asyncio
import os

from weft.cli import endpoint
from weft.common.signals import stop_on_signals

EPILOG = """Alerts are OCSF Detection Findings (2004), stories OCSF Incident Findings (2005).

examples:
  weft export jsonl /var/log/weft/ocsf.jsonl
  weft export webhook https://siem.example.com/ingest --token-env SIEM_TOKEN --what stories
  weft export syslog siem.example.com:6514 --tcp
"""


def register(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.add_argument("kind", choices=["webhook", "syslog", "jsonl"])
    p.add_argument("target", help="URL, HOST:PORT or file")
    p.add_argument("--what", default="alerts,stories", help="alerts, stories or both (default)")
    p.add_argument("--tcp", action="store_true", help="syslog over TCP (RFC 6587 octet counting); default UDP")
    p.add_argument("--token-env", default="", metavar="VAR", help="environment variable holding the webhook's "
                   "bearer token (never a flag: it would show in ps)")
    p.add_argument("--data-dir", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from weft.cli.main import CliError
    what = [w.strip() for w in args.what.split(",") if w.strip()]
    if not what or set(what) - {"alerts", "stories"}:
        raise CliError(f"--what {args.what!r}: alerts, stories or alerts,stories", code=2)
    ep = endpoint.load(args.data_dir)
    try:
        asyncio.run(_run(ep, args, what))
    except ValueError as e:
        raise CliError(str(e), code=2) from None
    return 0


async def _run(ep, args, what: list[str]) -> None:
    from weft.common import bus
    from weft.detect.exporters.exporting import consumers, deliverer
    deliver = deliverer(args.kind, args.target, token=os.environ.get(args.token_env, "") if args.token_env else "",
                        tcp=args.tcp)
    nc = await bus.connect(ep.nats_url, f"weft-export-{args.kind}", endpoint.nats_login(ep))
    stop = asyncio.Event()
    stop_on_signals(stop)
    try:
        js = nc.jetstream()
        await bus.ensure_streams(js)
        print(f"exporting {', '.join(what)} to {args.kind} {args.target} (Ctrl-C stops; it resumes where it stopped)",
              flush=True)
        await asyncio.gather(*(c.run(stop) for c in consumers(js, args.kind, args.target, what, deliver)))
    finally:
        await nc.close()
