"""`weft policy`: validate AgentPolicy intents, compile them into every provider's own
primitives (one file per target, and a manifest of what each enforces and cannot
express), and check compiled files against the intent question by question."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from weft.cli.main import CliError

EPILOG = """\
examples:
  weft policy validate examples/policies/*.yaml
  weft policy compile examples/policies/support-agent.yaml --target all --out out/support-agent
  weft policy compile agent.yaml --target cilium,seccomp,sensor --out out/
  weft policy check examples/policies/support-agent.yaml --dir out/support-agent
  weft policy suggest support-bot --out support-bot.yaml   from a running weft's profile
  weft policy apply support-bot.yaml && weft policy status support-bot
  weft policy promote support-bot --to enforce   refused while the evidence says it would break the agent

An intent selects one agent (namespace, workload or podLabels, serviceAccount, clusters)
and lists what it may do: egress (fqdns: api.example.com, *.example.com for one label
below, **.example.com for any depth; cidrs; ports), executables and files (a trailing /
is a directory), syscalls, mcp servers and tools, models, and cloud grants per provider
(spec.cloud.aws/azure/gcp). Identity targets need context: account ids, OIDC issuers,
project numbers, in spec.clusters or the provider's section; compile says what is missing.
"""


def register(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    sub = p.add_subparsers(dest="policy_command", metavar="SUBCOMMAND", required=True)
    v = sub.add_parser("validate", help="check intents: every error with its file and field path")
    v.add_argument("files", nargs="+", metavar="FILE")
    v.set_defaults(func=run_validate)
    c = sub.add_parser("compile", help="write one file per target and manifest.json into --out",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_targets_help())
    c.add_argument("intent", metavar="INTENT")
    c.add_argument("--target", default="all", help="all, or target names separated by commas (default: all)")
    c.add_argument("--out", required=True, type=Path, metavar="DIR")
    c.add_argument("--json", action="store_true", help="print the manifest as JSON instead of a summary")
    c.set_defaults(func=run_compile)
    k = sub.add_parser("check", help="ask each compiled file the intent's questions; report every disagreement")
    k.add_argument("intent", metavar="INTENT")
    k.add_argument("--dir", required=True, type=Path, metavar="DIR", help="where `weft policy compile` wrote")
    k.add_argument("--json", action="store_true")
    k.set_defaults(func=run_check)
    from weft.cli import policy_lifecycle
    policy_lifecycle.register(sub)
    g = sub.add_parser("suggest", help="write an intent from an agent's behaviour profile: what it did, nothing more")
    g.add_argument("agent", metavar="AGENT", help="name, short name or id (as `weft agents` shows)")
    g.add_argument("--mode", choices=["observe", "audit", "enforce"], default="audit",
                   help="the mode to start in (default audit: report would-be blocks first)")
    g.add_argument("--name", default="", help="the policy's name (default: the workload's)")
    g.add_argument("--out", help="write the YAML here instead of standard output")
    g.add_argument("--data-dir", default=None, help=argparse.SUPPRESS)
    g.set_defaults(func=_suggest)


def _targets_help() -> str:
    from weft.enforce.compilers.base import load_all
    registry = load_all()
    return "targets:\n" + "\n".join(f"  {n:<18} {registry.get(n).description}" for n in registry.names())


def _load(path: str):
    from weft.enforce.core.lowering import load_policy
    from weft.enforce.core.problems import IntentError
    try:
        return load_policy(path)
    except IntentError as e:
        for problem in e.problems:
            print(problem, file=sys.stderr)
        raise CliError(f"{path}: {len(e.problems)} problem(s); nothing compiled") from None


def run_validate(args: argparse.Namespace) -> int:
    from weft.enforce.core.problems import IntentError
    from weft.enforce.core.validation import load_file
    failed = 0
    for name in args.files:
        try:
            _, warnings = load_file(name)
        except IntentError as e:
            failed += 1
            for problem in e.problems:
                print(problem)
            continue
        for w in warnings:
            print(w)
        print(f"{name}: valid" + (f" ({len(warnings)} warning(s))" if warnings else ""))
    if failed:
        raise CliError(f"{failed} of {len(args.files)} file(s) invalid")
    return 0


def _selected(spec: str) -> list[str]:
    from weft.enforce.compilers.base import UnknownTarget, load_all
    registry = load_all()
    names = registry.names() if spec == "all" else [n.strip() for n in spec.split(",") if n.strip()]
    try:
        return [registry.get(n).name for n in names]
    except UnknownTarget as e:
        raise CliError(str(e)) from None


def run_compile(args: argparse.Namespace) -> int:
    from weft.enforce.core import compilation, manifest
    from weft.enforce.core.schemas import SchemasNotFound, schema_set
    policy, warnings = _load(args.intent)
    for w in warnings:
        print(w, file=sys.stderr)
    targets = _selected(args.target)
    try:
        results = compilation.compile_policy(policy, targets, schema_set())
    except SchemasNotFound as e:
        raise CliError(str(e)) from None
    invalid = [r for r in results if r.status == "invalid"]
    if invalid:
        for r in invalid:
            for reason in r.reasons:
                print(f"{r.target}: output breaks its schema {r.schema}: {reason}", file=sys.stderr)
        raise CliError("a compiler produced output its target would reject (a weft bug); nothing written")
    compilation.write(results, args.out)
    built = manifest.build(policy, results)
    manifest.write(built, args.out)
    if args.json:
        json.dump(built, sys.stdout, indent=2)
        print()
        return 0
    print(_summary(built, args.out))
    return 0


def _summary(built: dict, out: Path) -> str:
    lines = []
    for t in built["targets"]:
        if t["status"] == "compiled":
            lines.append(f"wrote {out / t['file']}  ({t['target']}: enforces {len(t['enforces'])} part(s))")
            lines += [f"    cannot express {g['field']}: {g['reason']}" for g in t["cannotExpress"]]
        else:
            lines.append(f"skipped {t['target']}: {'; '.join(t.get('skippedBecause', []))}")
    lines += [f"not enforced by any target: {u['field']} ({u['allows']}): {u['reason']}" for u in built["unenforced"]]
    lines.append(f"wrote {out / 'manifest.json'}")
    return "\n".join(lines)


def run_check(args: argparse.Namespace) -> int:
    from weft.enforce.compilers.base import Gap
    from weft.enforce.core import compilation, equivalence, manifest
    policy, _ = _load(args.intent)
    try:
        entries = [t for t in manifest.read(args.dir)["targets"] if t["status"] == "compiled"]
    except FileNotFoundError:
        raise CliError(f"{args.dir / manifest.FILE} not found: run `weft policy compile --out {args.dir}` first") \
            from None
    reports = []
    for t in entries:
        path = args.dir / t["file"]
        try:
            documents = compilation.read(path)
        except (OSError, ValueError) as e:
            raise CliError(f"cannot read {path}: {e}") from None
        gaps = [Gap(g["field"], g["reason"]) for g in t.get("cannotExpress", [])]
        reports.append(equivalence.check(policy, t["target"], documents, gaps))
    if args.json:
        json.dump([_report_json(r) for r in reports], sys.stdout, indent=2)
        print()
    else:
        for r in reports:
            print(_report_text(r))
    failed = [r.target for r in reports if not r.ok]
    if failed:
        raise CliError(f"{len(failed)} target(s) disagree with the intent: {', '.join(failed)}")
    return 0


def _report_text(r) -> str:
    head = f"{r.target}: {'agrees' if r.ok else 'DISAGREES'} ({r.asked} question(s) asked"
    head += f", {len(r.explained)} refused as declared not expressible)" if r.explained else ")"
    lines = [head] + ([f"    {r.error}"] if r.error else []) + [f"    {d}" for d in r.disagreements]
    return "\n".join(lines)


def _report_json(r) -> dict:
    return {"target": r.target, "ok": r.ok, "asked": r.asked, "error": r.error,
            "disagreements": [str(d) for d in r.disagreements], "explained": [str(d) for d in r.explained]}


def _suggest(args) -> int:
    """`weft policy suggest AGENT`: the intent the agent's profile supports, as YAML."""
    import yaml
    from weft.cli import api
    from weft.enforce.core import validation
    from weft.enforce.core.suggest import suggest
    found = api.call(f"/v1/agents/{api.quote(args.agent)}", data_dir=args.data_dir)
    profile = found.get("profile")
    if not profile:
        raise CliError(f"{args.agent}: no behaviour profile yet (no events from it)", code=3)
    intent = suggest(profile, mode=args.mode, name=args.name or "", findings=_posture_findings(profile["agent"], args))
    validation.parse(intent, f"suggestion for {profile['agent']}")   # what we write must load back
    header = (f"# Suggested by `weft policy suggest` from the {profile['status']} profile of {profile['agent']}\n"
              f"# ({profile['id']}): what it was seen to do, nothing more. Review, then\n"
              f"#   weft policy compile FILE --target all --out DIR\n")
    if profile["status"] != "ready":
        header += "# WARNING: the profile is still learning: behaviour not seen yet is not allowed here.\n"
    text = header + yaml.safe_dump(intent, sort_keys=False)
    if args.out:
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0


def _posture_findings(agent: str, args) -> list[dict]:
    """posture's findings for the agent (its observed cloud usage), or none when posture
    is not running or has judged nothing for it."""
    from weft.cli import api
    try:
        found = api.call("/v1/findings", service="posture", data_dir=args.data_dir)["findings"]
    except CliError:
        return []
    return [f for f in found if f.get("agent") == agent]
