"""`weft drift`: compare what is deployed (files exported from the clusters and clouds)
with an AgentPolicy intent and across providers, and report every difference by
provider, resource and field. Exit 0: no drift; 1: drift; 2: bad input."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from weft.cli.main import CliError

BAD_INPUT = 2
EPILOG = """\
examples:
  weft drift examples/policies/support-agent.yaml deployed/
  weft drift agent.yaml deployed/ --json > drift.json
  weft drift agent.yaml deployed/ --target networkpolicy,gke_fqdn,aws_irsa

DEPLOYED_DIR holds what the clusters and clouds return, in the targets' own formats
(`kubectl get ciliumnetworkpolicy,networkpolicy,... -o yaml`, `aws iam get-role`'s trust
policy, `az role definition show`, `gcloud projects get-iam-policy`, weft's sensor
policy, ...), in any layout: each document's target is recognised by its content. Put
Kubernetes objects in a directory named after their cluster (deployed/eks-prod/...) to
compare clusters with each other; without one they are compared once.

Each difference names its provider, resource and field:
  looser   the deployed resource allows what the intent refuses: a gap
  tighter  it refuses what the intent allows: a break waiting to happen
  missing  the intent needs a resource and nothing is deployed
  changed  a field differs from what `weft policy compile` emits, with no effect the
           intent's questions tell apart (a selector, a label, a resource not compiled)
and `across places` lists what two providers' (or clusters') deployed documents answer
differently for the same intent item, e.g. EKS allows *.openai.com, GKE only
api.openai.com.

exit status: 0 no drift, 1 drift, 2 bad input (the error names the file)
"""


def register(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.add_argument("intent", metavar="INTENT", help="the AgentPolicy intent (YAML)")
    p.add_argument("deployed", metavar="DEPLOYED_DIR", type=Path, help="the exported files")
    p.add_argument("--target", default="all", help="all, or the deployed targets separated by commas (default: all)")
    p.add_argument("--json", action="store_true", help="print the report as JSON (what weft.drift.v1 carries)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from weft.enforce.core import drift, drift_recognise
    from weft.enforce.core.schemas import SchemasNotFound
    policy = _load(args.intent)
    targets = _targets(args.target)
    if not args.deployed.is_dir():
        raise CliError(f"{args.deployed}: not a directory", BAD_INPUT)
    try:
        report = drift.report_for(policy, args.intent, args.deployed, targets)
    except (SchemasNotFound, drift_recognise.DeployedError, drift.DriftError) as e:
        raise CliError(str(e), BAD_INPUT) from None
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=2, default=str)
        print()
    else:
        print(text(report))
    return 1 if report.drift else 0


def _load(path: str):
    from weft.enforce.core.lowering import load_policy
    from weft.enforce.core.problems import IntentError
    try:
        policy, _ = load_policy(path)
    except IntentError as e:
        for problem in e.problems:
            print(problem, file=sys.stderr)
        raise CliError(f"{path}: {len(e.problems)} problem(s) in the intent", BAD_INPUT) from None
    return policy


def _targets(spec: str) -> list[str]:
    from weft.cli.policy import _selected
    try:
        return _selected(spec)
    except CliError as e:
        raise CliError(str(e), BAD_INPUT) from None


def text(report) -> str:
    """Grouped by provider, then resource; then what differs across places; then what was ignored."""
    lines = [f"{report.policy} ({report.source}) against {report.deployed}"]
    provider, resource = None, None
    for d in report.differences:
        if d.place.provider != provider:
            provider, resource = d.place.provider, None
            lines.append(provider)
        if (d.place, d.resource, d.file) != resource:
            resource = (d.place, d.resource, d.file)
            where = f" on {d.place.cluster}" if d.place.cluster else ""
            lines.append(f"  {d.resource}{where}  ({d.target}{', ' + d.file if d.file else ''})")
        lines += [f"    {line}" for line in _difference(d)]
    if report.across:
        lines.append("across places")
    for a in report.across:
        lines.append(f"  {a.intent + ' ' if a.intent else ''}({a.item})" if a.item else f"  {a.intent}")
        lines.append(f"    {_some(a.examples)}: yes on {_places(a.allowed)}; no on {_places(a.refused)}")
    if report.ignored:
        lines.append("ignored")
    lines += [f"  {i.file}#{i.index}: {i.reason}" for i in report.ignored]
    resources = len({(d.place, d.resource) for d in report.differences})
    lines.append(f"drift: {len(report.differences)} difference(s) in {resources} resource(s), "
                 f"{len(report.across)} across places" if report.drift else
                 f"no drift: {sum(c.resources for c in report.checked)} deployed resource(s) agree with the intent")
    return "\n".join(lines)


def _difference(d) -> list[str]:
    from weft.enforce.core.drift_report import ABSENT
    field = d.path or "(the resource)"
    if d.kind == "missing":
        head = f"missing  nothing deployed; the intent needs it for {', '.join(d.intent) or 'what it compiles'}"
    elif d.path or d.deployed is not ABSENT:
        head = f"{d.kind:<8} {field}: {_value(d.deployed)} (compiled: {_value(d.expected)})"
    else:
        head = f"{d.kind:<8} {field}" + ("" if d.kind != "changed" else ": deployed, not compiled from the intent")
    if not d.examples:
        return [head]
    about = f"; intent {', '.join(d.intent)}" if d.intent and d.kind != "missing" else ""
    return [head, f"         e.g. {_some(d.examples)}{about}"]


def _value(v) -> str:
    from weft.enforce.core.drift_report import ABSENT
    if v is ABSENT:
        return "absent"
    shown = json.dumps(v, default=str)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _some(examples: tuple[str, ...]) -> str:
    return examples[0] + (f" (+{len(examples) - 1} more)" if len(examples) > 1 else "")


def _places(places) -> str:
    return ", ".join(str(p) for p in places)
