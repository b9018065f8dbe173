"""A GCP principal or service account link judged: the permissions of the roles its
bindings grant (predefined roles from weft's table; others are named as not judged),
the ones its calls used (the permissions the audit logs say were checked), each
binding's resource as what it reaches, and the least-privilege custom role and
bindings."""
from __future__ import annotations

from typing import Mapping

from weft.posture.core.chain.model import Link, LinkFacts
from weft.posture.core.declarations.model import GcpBinding
from weft.posture.core.findings.gcp_roles import access_level
from weft.posture.core.findings.judgement import Judgement, Permission, Reach
from weft.posture.core.findings.leastprivilege_gcp import least_privilege_grant
from weft.posture.core.findings.model import Fix
from weft.posture.core.findings.usage import usage


def judge_gcp(link: Link, facts: LinkFacts, roles: Mapping[str, frozenset[str]]) -> Judgement:
    bindings = [b for b in facts.grants if isinstance(b, GcpBinding)]
    where: dict[str, list[str]] = {}
    notes = [f"{b.role} is not in weft's table of role permissions: not judged" for b in bindings
             if b.role not in roles]
    for b in bindings:
        for p in roles.get(b.role, ()):
            where.setdefault(p, []).append(f"{b.role} on {b.resource or 'the policy resource'}")
    use = usage(facts.calls)
    used = tuple(sorted(p for p in use.permissions if p in where))
    project = next((c.account for c in facts.calls if c.account), "")
    documents, lp_notes = least_privilege_grant(_member(link), bindings, {p: use.resources[p] for p in used},
                                                roles, project)
    reach = tuple(Reach(b.resource or "the policy's resource", tuple(sorted({access_level(p) for p in
                                                                            roles.get(b.role, ())})),
                        b.role, any(p in roles.get(b.role, ()) for p in used)) for b in bindings)
    declared = tuple(Permission(p, access_level(p), "; ".join(w)) for p, w in sorted(where.items()))
    fix = _fix(link, bindings, documents, len(declared), len(used))
    return Judgement(link, declared, used, reach, fix, tuple(notes + lp_notes) + facts.missing)


def _member(link: Link) -> str:
    if link.identity.startswith(("principal://", "principalSet://")):
        return link.identity
    return next((v for k, v in link.aliases if k == "member"), link.identity)


def _fix(link: Link, bindings: list[GcpBinding], documents: list[dict] | None, declared: int,
         used: int) -> Fix | None:
    if not declared or used == declared:
        return None
    old = ", ".join(f"{b.role} on {b.resource or 'the policy resource'}" for b in bindings)
    if documents is None:
        return Fix(f"Remove the bindings of {link.identity} ({old}): none of their {declared} permissions was used")
    targets = ", ".join(d["resource"] for d in documents[1:])
    return Fix(f"Create the custom role {documents[0]['name']} ({used} of {declared} permissions), bind it to "
               f"{_member(link)} on {targets}, and remove the bindings it replaces ({old})", "gcp_iam_policy",
               tuple(documents))
