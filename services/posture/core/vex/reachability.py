"""Whether an agent loaded each vulnerable package at runtime. Reachable: the agent opened
or executed a file of the package, in any cluster, while its profile was observed (the
evidence is the first such file). Unreachable: none of the files it loaded is one. And
undetermined when nothing tells the package's files apart (an OS package the report
names no file of): weft then claims neither.

    assessment = assess(report.findings, profile)
    assessment.verdicts[purl].state, .evidence
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from weft.discovery.core.profiles import Profile
from weft.posture.core.vex.findings import Finding, Package
from weft.posture.core.vex.packages import Key, package_keys, path_keys

REACHABLE, UNREACHABLE, UNDETERMINED = "reachable", "unreachable", "undetermined"


class NoObservation(ValueError):
    """The profile shows no file loaded: it cannot tell loaded packages from others."""


@dataclass(frozen=True, order=True)
class Evidence:
    first_seen: int     # event time, epoch seconds
    path: str
    kind: str           # "open" or "exec"


@dataclass(frozen=True)
class Verdict:
    package: Package
    state: str
    evidence: Evidence | None = None    # the first file of it loaded, when reachable
    files: int = 0                      # how many of its files were loaded
    keys: frozenset[Key] = frozenset()  # what its files are recognised by


@dataclass(frozen=True)
class Observation:
    """What the verdicts rest on: one agent's profile, merged across its clusters."""
    agent: str
    clusters: tuple[str, ...]
    start: int
    end: int
    files: int          # distinct files the agent loaded
    status: str         # the profile's: learning or ready


@dataclass
class Assessment:
    observation: Observation
    findings: list[Finding]             # one per vulnerability and package, sorted
    verdicts: dict[str, Verdict]        # by package purl


def assess(findings: list[Finding], profile: Profile) -> Assessment:
    files = loaded(profile)
    if not files:
        raise NoObservation(f"the profile of {profile.agent} records no file opened or executed, "
                            "so it cannot show which packages were loaded")
    observation = Observation(profile.agent, tuple(profile.clusters), profile.first_seen, profile.last_seen,
                              len(files), profile.status)
    by_key: dict[Key, set[str]] = defaultdict(set)
    for path in files:
        for key in path_keys(path):
            by_key[key].add(path)
    merged = _merged(findings)
    packages = {f.package.purl: f.package for f in merged}
    return Assessment(observation, merged, {purl: _verdict(p, files, by_key) for purl, p in sorted(packages.items())})


def loaded(profile: Profile) -> dict[str, Evidence]:
    """Every file the agent opened or executed, with the first time and how."""
    seen = [Evidence(t, key[0], "open") for key, t in profile.items["open"].items()]
    seen += [Evidence(t, key[0], "exec") for key, t in profile.items["exec"].items()]
    out: dict[str, Evidence] = {}
    for e in sorted(seen):
        out.setdefault(e.path, e)
    return out


def rfc3339(t: int) -> str:
    """Event time (epoch seconds) as RFC 3339 UTC: 2024-06-01T12:00:00Z."""
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _verdict(pkg: Package, files: dict[str, Evidence], by_key: dict[Key, set[str]]) -> Verdict:
    keys = frozenset(package_keys(pkg))
    if not keys:
        return Verdict(pkg, UNDETERMINED)
    paths = set().union(*(by_key.get(k, set()) for k in keys))
    if not paths:
        return Verdict(pkg, UNREACHABLE, keys=keys)
    return Verdict(pkg, REACHABLE, min(files[p] for p in paths), len(paths), keys)


def _merged(findings: list[Finding]) -> list[Finding]:
    """One finding per vulnerability and package; a package's locations are the union
    of what every finding of it says, and so are aliases and fixed versions."""
    locations: dict[str, set[str]] = defaultdict(set)
    for f in findings:
        locations[f.package.purl].update(f.package.locations)
    out: dict[tuple[str, str], Finding] = {}
    for f in findings:
        pkg = replace(f.package, locations=tuple(sorted(locations[f.package.purl])))
        key = (f.vulnerability, pkg.purl)
        old = out.get(key)
        aliases = set(f.aliases) | set(old.aliases if old else ())
        fixes = tuple(dict.fromkeys((*(old.fix_versions if old else ()), *f.fix_versions)))
        out[key] = replace(old or f, package=pkg, aliases=tuple(sorted(aliases)), fix_versions=fixes)
    return [out[k] for k in sorted(out)]
