"""`weft vex REPORT --profile PROFILE.json`: mark each vulnerable package of a report
reachable (the agent loaded it at runtime) or not, write OpenVEX, print the reduction."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import timezone
from pathlib import Path
from typing import TYPE_CHECKING

from weft.cli.main import CliError

if TYPE_CHECKING:
    from weft.discovery.core.profiles import Profile

EPILOG = """\
examples:
  grype ghcr.io/acme/support-agent:1.4.2 -o json > grype.json
  weft profile show support-agent > support-agent.json
  weft vex grype.json --profile support-agent.json --out support-agent.vex.json
      12 vulnerabilities, 2 reachable: 83 % less to fix
  weft vex pip-audit.json --profile eks.json --profile aks.json --agent support-agent --json

reports (recognised by content): CycloneDX JSON with vulnerabilities[] (grype -o
cyclonedx-json), Grype JSON (grype -o json), pip-audit JSON (pip-audit -f json), OSV
records or osv-scanner JSON (osv-scanner --format json).

A package is reachable when the agent opened or executed any file of it, in any cluster,
while its profile was observed: Python packages by site-packages/<import name> and
<dist>-<version>.dist-info, npm packages by node_modules/<name>/, any package by the
files the report lists as its own (the only way for OS packages). In the OpenVEX output
reachable vulnerabilities are `affected` (with the file as evidence and what to update),
unreachable ones `not_affected` / vulnerable_code_not_present with what was observed, and
packages whose files cannot be told apart `under_investigation`.

exit status: 0; 1 when records of the report were skipped (each is printed) or on an error.
"""


def register(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.add_argument("report", metavar="REPORT", help="the vulnerability report of the agent's image or environment")
    p.add_argument("--profile", action="append", required=True, metavar="PROFILE.json",
                   help="a behaviour profile as `weft profile show` prints it (or a list of them); "
                        "repeat for several clusters: profiles of one agent are merged")
    p.add_argument("--agent", metavar="NAME", help="the agent, when the profiles are of several")
    p.add_argument("--out", metavar="FILE", help="write the OpenVEX document here (- for standard output)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--product", metavar="PURL",
                   help="the product the packages are part of (default: the image the report names, if any)")
    p.add_argument("--author", default="weft", help="the VEX author (default: weft)")
    p.add_argument("--timestamp", metavar="RFC3339", help="the VEX timestamp (default: end of the observation)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from weft.posture.core.vex import openvex, reachability, reports, summary
    timestamp = _timestamp(args.timestamp)
    product = _product(args.product) if args.product else ""
    try:
        report = reports.load_file(args.report)
    except reports.ReportError as e:
        raise CliError(str(e)) from None
    for error in report.errors:
        print(f"weft vex: skipped {error}", file=sys.stderr)
    try:
        assessment = reachability.assess(report.findings, _profile(args.profile, args.agent))
    except reachability.NoObservation as e:
        raise CliError(str(e)) from None
    product = product or report.product
    wrote = None
    if args.out and report.findings:
        wrote = _write(args.out, openvex.document(assessment, author=args.author, timestamp=timestamp,
                                                  product=product))
    _show(args, report, summary.summarise(assessment), product, wrote)
    if report.errors:
        print(f"weft vex: {len(report.errors)} record(s) of {args.report} skipped; the rest was assessed",
              file=sys.stderr)
    return 1 if report.errors else 0


def _show(args: argparse.Namespace, report, result: dict, product: str, wrote: str | None) -> None:
    """The summary: JSON, or a line per package and the reduction (on stderr when the
    VEX document itself went to stdout)."""
    from weft.posture.core.vex.summary import line
    out = sys.stderr if args.out == "-" else sys.stdout
    if args.json:
        json.dump({"report": args.report, "format": report.format, "product": product, **result,
                   "skipped": [str(e) for e in report.errors], "vex": wrote}, out, indent=2)
        print(file=out)
        return
    _print(result, out)
    if args.out and not report.findings:
        print("no vulnerability in the report: no OpenVEX document written", file=out)
    elif wrote and wrote != "-":
        print(f"wrote {wrote}", file=out)
    print(line(result), file=out)


def _profile(files: list[str], agent: str | None) -> Profile:
    from weft.discovery.core.agents import AgentLookupError, resolve
    from weft.discovery.core.profiles import merge
    found = [p for name in files for p in _read_profiles(name)]
    names = {p.agent for p in found}
    if agent is not None:
        try:
            wanted = resolve(agent, names)
        except AgentLookupError as e:
            raise CliError(str(e)) from None
        found = [p for p in found if p.id == wanted]
    elif len(names) > 1:
        raise CliError(f"the profiles are of {len(names)} agents ({', '.join(sorted(names))}); name one with --agent")
    profile = found[0]
    for other in found[1:]:
        try:
            profile, _ = merge(profile, other)
        except ValueError as e:
            raise CliError(str(e)) from None
    return profile


def _read_profiles(name: str) -> list[Profile]:
    """The profiles in a file: one (`weft profile show`, or the API's {"profile": …}),
    a list of them, or a map of agent name to profile."""
    from weft.discovery.core.profiles import from_dict
    try:
        data = json.loads(Path(name).read_text())
    except OSError as e:
        raise CliError(f"{name}: cannot read: {e.strerror or e}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise CliError(f"{name}: expected a weft profile as JSON; found invalid JSON ({e})") from None
    raw = data
    if isinstance(data, dict) and isinstance(data.get("profile"), dict):
        data = data["profile"]
    if isinstance(data, dict) and "agent" not in data:
        data = list(data.values())
    docs = [data] if isinstance(data, dict) else data if isinstance(data, list) else []
    if not docs or not all(isinstance(d, dict) and "agent" in d for d in docs):
        from weft.posture.core.vex.formats import shape
        raise CliError(f"{name}: expected a weft profile (as `weft profile show` prints it), a list of them "
                       f"or a map of agent name to profile; found {shape(raw)}")
    try:
        profiles = [from_dict(d) for d in docs]
    except ValueError as e:
        raise CliError(f"{name}: {e}") from None
    return profiles


def _product(purl: str) -> str:
    from weft.posture.core.vex.findings import package
    try:
        return package("", "", purl=purl).purl
    except ValueError:
        raise CliError(f"--product {purl!r}: expected a package URL such as "
                       "pkg:oci/support-agent@sha256:…?repository_url=ghcr.io/acme/support-agent") from None


def _timestamp(value: str | None) -> str:
    if value is None:
        return ""
    from weft.posture.core.times import parse_time
    parsed = parse_time(value)
    if parsed is None:
        raise CliError(f"--timestamp {value!r}: expected an RFC 3339 time such as 2024-06-01T12:00:00Z")
    return parsed.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write(out: str, document: dict) -> str:
    text = json.dumps(document, indent=2) + "\n"
    if out == "-":
        sys.stdout.write(text)
        return out
    try:
        Path(out).write_text(text)
    except OSError as e:
        raise CliError(f"{out}: cannot write: {e.strerror or e}") from None
    return out


def _print(result: dict, out) -> None:
    o = result["observation"]
    clusters = f" in {', '.join(o['clusters'])}" if o["clusters"] else ""
    print(f"{result['agent']}: {o['files_loaded']} files loaded{clusters} from {o['from']} to {o['to']} "
          f"(profile {o['profile_status']})", file=out)
    order = {"reachable": 0, "undetermined": 1, "unreachable": 2}
    for p in sorted(result["by_package"], key=lambda p: (order[p["state"]], p["name"].lower(), p["purl"])):
        e = p["evidence"]
        seen = f"  {e['path']} ({e['how']} {e['first_seen']})" if e else ""
        print(f"  {p['state']:<12} {p['name']} {p['version']}  {', '.join(p['vulnerabilities'])}{seen}", file=out)
