"""Permissions granted and never used in the observation window: one finding per link
(declared N, used M, every unused permission with where it is granted, and the
least-privilege replacement in the provider's format), and one for the chain as a whole.
Severity follows the strongest unused access: permission changes and acting as others
high, writes medium, reads low."""
from __future__ import annotations

from weft.posture.core.chain.model import IdentityChain
from weft.posture.core.findings.judgement import Judgement, severity_of
from weft.posture.core.findings.model import Finding, Fix, Kind, worst


def unused_findings(chain: IdentityChain, judgements: list[Judgement], window: dict) -> list[Finding]:
    per_link = [f for j in judgements if (f := _link_finding(chain, j, window)) is not None]
    total = sum(len(j.declared) for j in judgements)
    used = sum(len(j.used) for j in judgements)
    if not per_link:
        return []
    links = [{"cloud": j.link.cloud.value, "identity": j.link.identity, "declared": len(j.declared),
              "used": len(j.used)} for j in judgements if j.declared]
    fixes = tuple(d for f in per_link if f.fix is not None for d in ({"cloud": f.details["cloud"],
                                                                     "identity": f.subject, "summary": f.fix.summary,
                                                                     "format": f.fix.format,
                                                                     "documents": list(f.fix.documents)},))
    who = chain.agent or chain.subject.sub
    chain_finding = Finding(
        Kind.UNUSED_PERMISSIONS_CHAIN, worst(f.severity for f in per_link), chain.id, chain.subject.sub,
        f"{who} is granted {total} permissions across its chain and used {used}", chain.agent,
        tuple(e for f in per_link for e in f.evidence[:1]),
        {"declared": total, "used": used, "unused": total - used, "links": links, "window": window},
        Fix(f"Apply the {len(fixes)} replacement(s) of the links' findings", "replacements", fixes) if fixes else None)
    return per_link + [chain_finding]


def _link_finding(chain: IdentityChain, j: Judgement, window: dict) -> Finding | None:
    unused = j.unused
    if not unused:
        return None
    link = j.link
    details = {
        "cloud": link.cloud.value, "declared": len(j.declared), "used": len(j.used), "unused": len(unused),
        "usedPermissions": list(j.used),
        "unusedPermissions": [{"name": p.name, "level": p.level, "grantedBy": p.where} for p in unused],
        "granularity": j.granularity, "notes": list(j.notes), "window": window,
    }
    evidence = tuple(e for e in link.evidence if e.kind == "declaration")[:5] + tuple(
        e for e in link.evidence if e.kind == "observation")[:5]
    title = (f"{link.identity} is granted {len(j.declared)} permissions and used {len(j.used)} "
             f"between {window.get('from') or '?'} and {window.get('to') or '?'}")
    return Finding(Kind.UNUSED_PERMISSIONS, severity_of(unused), chain.id, link.identity, title, chain.agent,
                   evidence, details, j.fix)
