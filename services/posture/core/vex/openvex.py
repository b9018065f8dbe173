"""An assessment as an OpenVEX v0.2.0 document: one statement per vulnerability and
package. Reachable: `affected`, with the evidence and an action. Unreachable:
`not_affected`, `vulnerable_code_not_present`, and an impact statement naming what was
observed. Undetermined: `under_investigation`, saying why. Deterministic: statements
sorted, the timestamp the end of the observation (or the caller's), the `@id` derived
from the content."""
from __future__ import annotations

import json
import uuid

from weft.posture.core.vex.findings import Finding, Package
from weft.posture.core.vex.packages import Key
from weft.posture.core.vex.reachability import REACHABLE, UNREACHABLE, Assessment, Observation, Verdict, rfc3339

CONTEXT = "https://openvex.dev/ns/v0.2.0"
TOOLING = "weft vex (runtime reachability)"
MAX_SHOWN = 4       # what an impact statement lists of a package's file patterns


def document(assessment: Assessment, *, author: str = "weft", timestamp: str = "", product: str = "") -> dict:
    """The OpenVEX document; `product` (a purl, e.g. the image) makes every package a
    subcomponent of it. ValueError without findings: OpenVEX needs one statement."""
    if not assessment.findings:
        raise ValueError("no vulnerability to make a statement about (OpenVEX needs at least one)")
    o = assessment.observation
    body = {"author": author, "timestamp": timestamp or rfc3339(o.end), "version": 1, "tooling": TOOLING,
            "statements": [statement(f, assessment.verdicts[f.package.purl], o, product)
                           for f in assessment.findings]}
    digest = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return {"@context": CONTEXT, "@id": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, CONTEXT + '#' + digest)}",
            **body}


def statement(f: Finding, v: Verdict, o: Observation, product: str = "") -> dict:
    pkg = f.package
    out: dict = {"vulnerability": {"name": f.vulnerability, **({"aliases": list(f.aliases)} if f.aliases else {})},
                 "products": [{"@id": product, "subcomponents": [{"@id": pkg.purl}]} if product else {"@id": pkg.purl}]}
    if v.state == REACHABLE:
        e = v.evidence
        how = "opened" if e.kind == "open" else "executed"
        return out | {"status": "affected",
                      "status_notes": f"{o.agent}{_where(o)} loaded {pkg}: it {how} {e.path} first at "
                                      f"{rfc3339(e.first_seen)}; {v.files} file(s) of the package loaded.",
                      "action_statement": _action(f, o)}
    if v.state == UNREACHABLE:
        learning = " The profile was still learning: a later run may load it." if o.status == "learning" else ""
        return out | {"status": "not_affected", "justification": "vulnerable_code_not_present",
                      "impact_statement": f"{pkg} is reported vulnerable, but {o.agent} never loaded it: none of the "
                                          f"{o.files} files it opened or executed{_where(o)} from {rfc3339(o.start)} "
                                          f"to {rfc3339(o.end)} is one of its files ({_basis(v.keys)}).{learning}"}
    return out | {"status": "under_investigation",
                  "status_notes": f"The report names none of the files of {pkg} ({pkg.ecosystem} package), only "
                                  f"package-manager records if any, so runtime behaviour cannot show whether "
                                  f"{o.agent} loads it."}


def _action(f: Finding, o: Observation) -> str:
    pkg: Package = f.package
    if f.fix_versions:
        since = f" from {pkg.version}" if pkg.version else ""
        return f"Update {pkg.name}{since} to a fixed version ({', '.join(f.fix_versions)})."
    if f.advice:
        return f"The report recommends: {f.advice}"
    return f"No fixed version of {pkg.name} is known: remove it, or keep {o.agent} from loading it, until one is."


def _where(o: Observation) -> str:
    return f" (observed in {', '.join(o.clusters)})" if o.clusters else ""


def _basis(keys: frozenset[Key]) -> str:
    """What the package's files were recognised by, as a reader checks it: the path
    patterns of its name, else the files the report names."""
    patterns = [k for k in keys if k[0] != "file"] or list(keys)
    shown = sorted({"pypi": "{}-*.dist-info/", "py-import": "site-packages/{}", "npm": "node_modules/{}/",
                    "file": "{}"}[kind].format(value) for kind, value in patterns)
    more = f" and {len(shown) - MAX_SHOWN} more" if len(shown) > MAX_SHOWN else ""
    return "files matching " + ", ".join(shown[:MAX_SHOWN]) + more
