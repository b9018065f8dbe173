"""`weft respond STORY [--apply]`: contain an attack story's agent (and the workloads
that sent its data out) in the kernel, and say what to run on each cloud."""
from __future__ import annotations

import argparse
import json

import yaml

from weft.cli import api

EPILOG = """Containment allows the agent only what its ready profile shows it needs, so the
story's exfiltration destinations are refused in the kernel on every node of its
clusters; so does every workload the story shows sending data out (an MCP tool the
agent drove into it), each under its own containment policy. The provider-side steps (revoke the role's sessions, disable the federated
credential, remove the binding) are printed for a person to run.

examples:
  weft respond st-1a2b…              the plan, nothing changed
  weft respond st-1a2b… --apply      put the containment in force now
"""


def register(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.add_argument("story", metavar="STORY")
    p.add_argument("--apply", action="store_true", help="put the containment policy in force")
    p.add_argument("--json", action="store_true")
    p.add_argument("--data-dir", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from weft.cli.main import CliError
    from weft.enforce.core.respond import containment, provider_steps, targets
    story = api.call(f"/v1/stories/{api.quote(args.story)}", service="detect", data_dir=args.data_dir)
    found = targets(story)
    if not found:
        raise CliError(f"story {args.story} names no workload to contain", code=3)
    plans = [(t, _profile(t, args.data_dir)) for t in found]
    intents = [containment(story, profile, t) for t, profile in plans]
    applied = [api.call("/v1/policies", method="POST", raw_body=yaml.safe_dump(i, sort_keys=False),
                        service="enforce", data_dir=args.data_dir) for i in intents] if args.apply else []
    steps = provider_steps(story)
    if args.json:
        print(json.dumps({"containment": intents, "applied": applied, "providerSteps": steps}, indent=2))
        return 0
    blocked = ", ".join(f"{d.get('dnsName') or d['ip']}:{d['port']}" for d in story["data"]["destinations"]) or "none"
    for (t, profile), intent in zip(plans, intents):
        print(f"containment of {t['namespace']}/{t['workload']} (blocks {blocked}; "
              f"allows its {'ready profile' if profile else 'nothing: no profile seen'}):")
        print(yaml.safe_dump(intent, sort_keys=False))
    print("\n".join(f"in force: {a['name']} revision {a['revision']}" for a in applied) or "not applied (add --apply)")
    for s in steps:
        print(f"\n# {s['provider']} {s['principal']}: {s['what']}\n{s['command']}")
    return 0


def _profile(target: dict, data_dir) -> dict | None:
    from weft.cli.main import CliError
    try:
        return api.call(f"/v1/agents/{api.quote(target['namespace'] + '/' + target['workload'])}",
                        data_dir=data_dir).get("profile")
    except CliError:
        return None
