"""An Azure identity link judged: the entries of actions and dataActions its role
assignments grant, the ones its use shows (operations where logs name them, else the
planes its sign-ins got tokens for), each assignment's scope as what it reaches, and a
least-privilege custom role and assignment per assignment."""
from __future__ import annotations

from weft.posture.core.chain.model import Link, LinkFacts
from weft.posture.core.declarations.model import AzureRoleAssignment
from weft.posture.core.findings.azure_ops import access_level, azure_use
from weft.posture.core.findings.judgement import Judgement, Permission, Reach
from weft.posture.core.findings.leastprivilege_azure import judge, least_privilege_role
from weft.posture.core.findings.model import Fix

SIGN_IN_ONLY = ("the logs show which services the identity got tokens for, not which operations it ran: "
                "entries of a service it used are kept whole")


def judge_azure(link: Link, facts: LinkFacts) -> Judgement:
    use = azure_use(facts.sign_ins, facts.calls)
    definitions = {d.guid.lower(): d for d in facts.definitions}
    declared: dict[str, list[str]] = {}
    levels: dict[str, str] = {}
    used: set[str] = set()
    proven: set[str] = set()
    reach, documents, removed = [], [], []
    for a in sorted((g for g in facts.grants if isinstance(g, AzureRoleAssignment)), key=lambda g: g.id):
        if (d := definitions.get(a.role_definition_guid.lower())) is None:
            continue
        entries = judge(d, use)
        for e in entries:
            declared.setdefault(e.pattern, []).append(f"{d.role_name} at {a.scope} ({e.plane})")
            levels[e.pattern] = access_level(e.pattern)
            if e.used:
                used.add(e.pattern)
            if e.operations:
                proven.add(e.pattern)
        reach.append(Reach(a.scope, tuple(sorted({access_level(e.pattern) for e in entries})),
                           f"{d.role_name} assigned at {a.scope}", any(e.used for e in entries)))
        if all(e.used and not e.operations for e in entries):
            continue                               # nothing to narrow with the evidence at hand
        if (bodies := least_privilege_role(a, d, entries, use, link.identity)) is None:
            removed.append(a.id or f"{d.role_name} at {a.scope}")
        else:
            documents += bodies
    permissions = tuple(Permission(p, levels[p], "; ".join(w)) for p, w in sorted(declared.items()))
    notes = tuple(facts.missing) + (() if use.operations else (SIGN_IN_ONLY,))
    return Judgement(link, permissions, tuple(sorted(used)), tuple(reach), _fix(link, documents, removed),
                     notes, "operation" if use.operations else "sign-in", tuple(sorted(proven)))


def _fix(link: Link, documents: list[dict], removed: list[str]) -> Fix | None:
    if not documents and not removed:
        return None
    parts = []
    if documents:
        parts.append(f"create the custom role{'s' if len(documents) > 2 else ''} below, assign it to "
                     f"{link.identity} and delete the assignment it replaces")
    if removed:
        parts.append(f"delete the role assignment{'s' if len(removed) > 1 else ''} {', '.join(removed)}: "
                     "nothing it grants was used")
    summary = "; ".join(parts)
    return Fix(summary[0].upper() + summary[1:], "azure_role_definition" if documents else "", tuple(documents))
