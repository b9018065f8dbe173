"""How much less there is to fix: vulnerabilities counted once however many ids and
packages they have (ids that alias each other are one vulnerability), and a vulnerability
is reachable when any package it affects was loaded.

    summarise(assessment) == {"vulnerabilities": 42, "reachable": 5, "unreachable": 37,
                              "undetermined": 0, "reduction_percent": 88, "by_package": [...]}
"""
from __future__ import annotations

from collections import defaultdict

from weft.posture.core.vex.findings import Finding
from weft.posture.core.vex.reachability import REACHABLE, UNDETERMINED, UNREACHABLE, Assessment, Verdict, rfc3339


def summarise(assessment: Assessment) -> dict:
    states = [_state(group, assessment.verdicts) for group in vulnerabilities(assessment.findings)]
    total, unreachable = len(states), states.count(UNREACHABLE)
    o = assessment.observation
    return {
        "agent": o.agent,
        "observation": {"clusters": list(o.clusters), "from": rfc3339(o.start), "to": rfc3339(o.end),
                        "files_loaded": o.files, "profile_status": o.status},
        "vulnerabilities": total, "reachable": states.count(REACHABLE), "unreachable": unreachable,
        "undetermined": states.count(UNDETERMINED),
        # rounded down: the reduction is never overstated
        "reduction_percent": 100 * unreachable // total if total else 0,
        "by_package": [_package(v, assessment.findings) for _, v in sorted(assessment.verdicts.items())],
    }


def line(summary: dict) -> str:
    """"42 vulnerabilities, 5 reachable: 88 % less to fix" (and how many are undetermined)."""
    undetermined = f", {summary['undetermined']} undetermined" if summary["undetermined"] else ""
    return (f"{summary['vulnerabilities']} vulnerabilities, {summary['reachable']} reachable{undetermined}: "
            f"{summary['reduction_percent']} % less to fix")


def vulnerabilities(findings: list[Finding]) -> list[list[Finding]]:
    """Findings grouped into vulnerabilities: two findings are of one vulnerability when
    their ids or aliases meet (directly or through others)."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for f in findings:
        for alias in f.aliases:
            parent[root(alias)] = root(f.vulnerability)
    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        groups[root(f.vulnerability)].append(f)
    return sorted(groups.values(), key=lambda g: min(f.vulnerability for f in g))


def _state(group: list[Finding], verdicts: dict[str, Verdict]) -> str:
    states = {verdicts[f.package.purl].state for f in group}
    return next(s for s in (REACHABLE, UNDETERMINED, UNREACHABLE) if s in states)


def _package(v: Verdict, findings: list[Finding]) -> dict:
    p, e = v.package, v.evidence
    return {"purl": p.purl, "name": p.name, "version": p.version, "ecosystem": p.ecosystem, "state": v.state,
            "reachable": None if v.state == UNDETERMINED else v.state == REACHABLE,
            "evidence": e and {"path": e.path, "first_seen": rfc3339(e.first_seen), "how": e.kind},
            "files_loaded": v.files,
            "vulnerabilities": sorted({f.vulnerability for f in findings if f.package.purl == p.purl})}
