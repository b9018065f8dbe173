"""`weft profile`: an agent's behaviour profile — show it, export it for Kubescape,
accept new behaviour into a ready baseline."""
from __future__ import annotations

import argparse
import json

from weft.cli import api

EPILOG = """A ready profile never grows by itself: new behaviour is reported (`weft agent REF`
lists it as NEW) until you accept it.

examples:
  weft profile show support-bot
  weft profile show support-bot --format kubescape > support-bot-profile.yaml
  weft profile accept support-bot                      accept every pending deviation
  weft profile accept support-bot "egress api.example.com:443/TCP"   accept one
  weft profile accept support-bot egress              accept every pending egress
"""


def register(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = sub.add_parser("show", help="print the profile (JSON, or Kubescape YAML)")
    show.add_argument("ref", metavar="AGENT")
    show.add_argument("--format", choices=["json", "kubescape"], default="json")
    acc = sub.add_parser("accept", help="add pending deviations to the baseline")
    acc.add_argument("ref", metavar="AGENT")
    acc.add_argument("selectors", nargs="*", metavar="BEHAVIOUR",
                     help="a deviation as `weft agent` prints it, or a kind (exec, open, egress, dns, "
                          "ingress, model, mcp); none: every pending one")
    for s in (show, acc):
        s.add_argument("--data-dir", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "accept":
        body = {"selectors": args.selectors or None}
        profile = api.call(f"/v1/agents/{api.quote(args.ref)}/accept", method="POST", body=body,
                           data_dir=args.data_dir)["profile"]
        print(f"{profile['agent']}: accepted; {len(profile['deviations'])} deviation(s) still pending")
        return 0
    profile = api.call(f"/v1/agents/{api.quote(args.ref)}", data_dir=args.data_dir).get("profile")
    if profile is None:
        from weft.cli.main import CliError
        raise CliError(f"{args.ref}: no profile yet (no events from it)", code=3)
    if args.format == "kubescape":
        from weft.discovery.core import kubescape
        from weft.discovery.core.profiles import from_dict
        print(kubescape.to_yaml(kubescape.export([from_dict(profile)])))
    else:
        print(json.dumps(profile, indent=2))
    return 0
