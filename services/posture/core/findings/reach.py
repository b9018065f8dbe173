"""Chain-level reach: what a compromise of the agent can reach across every provider —
each resource (or pattern) its links' grants cover, the access they give, whether the
logs show it used, and the path of identities from the service account to it.
Severity is that of the strongest access reached, one step higher when the reach spans
more than one provider (one stolen token opens all of them)."""
from __future__ import annotations

from weft.posture.core.chain.model import IdentityChain, Link
from weft.posture.core.findings.judgement import Judgement, strongest
from weft.posture.core.findings.model import Finding, Kind, Severity

_BY_LEVEL = {"Permissions": Severity.HIGH, "Write": Severity.MEDIUM, "Unknown": Severity.MEDIUM,
             "Tagging": Severity.LOW, "Read": Severity.LOW, "List": Severity.LOW}


def reach_finding(chain: IdentityChain, judgements: list[Judgement]) -> Finding | None:
    entries = [{"cloud": j.link.cloud.value, "resource": r.resource, "access": list(r.levels),
                "strongest": strongest(r.levels), "grantedBy": r.grant, "used": r.used, "path": path(chain, j.link)}
               for j in judgements for r in j.reach]
    if not entries:
        return None
    entries.sort(key=lambda e: (e["cloud"], e["resource"], e["grantedBy"]))
    clouds = sorted({e["cloud"] for e in entries})
    severity = _BY_LEVEL[strongest([e["strongest"] for e in entries])]
    if len(clouds) > 1:
        severity = list(Severity)[min(severity.rank + 1, Severity.CRITICAL.rank)]
    who = chain.agent or chain.subject.sub
    unused = sum(not e["used"] for e in entries)
    title = (f"A compromise of {who} reaches {len(entries)} resources in {', '.join(clouds)} "
             f"({unused} of them never used)")
    details = {"clouds": clouds, "resources": entries,
               "links": [{"cloud": link.cloud.value, "identity": link.identity, "via": link.via.value}
                         for link in chain.links]}
    evidence = tuple(e for link in chain.links for e in link.evidence if e.kind == "declaration")
    return Finding(Kind.CHAIN_REACH, severity, chain.id, chain.subject.sub, title, chain.agent, evidence, details)


def path(chain: IdentityChain, link: Link) -> list[str]:
    """The identities from the service account to `link`, following each link's parent."""
    by_identity = {x.identity: x for x in chain.links}
    out = [link.identity]
    seen = {link.identity}
    parent = link.parent
    while parent in by_identity and parent not in seen:
        out.append(parent)
        seen.add(parent)
        parent = by_identity[parent].parent
    out.append(parent)
    return list(reversed(out))
