"""Federation gaps in IAM roles' web-identity trusts: a statement that admits more
service accounts than the one it is for (no `sub` condition: every account of the
issuer; a StringLike wildcard: a namespace or more), and one that leaves the audience
open (no `aud` condition, a wildcard one, or another cloud's token-exchange audience,
so a token minted for Azure or GCP is accepted too). The fix is the trust policy with
that statement narrowed to the subjects that use it and the STS audience."""
from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from weft.posture.core.auditlogs.model import RoleAssumption
from weft.posture.core.chain.evidence import declared, observed
from weft.posture.core.chain.inventory import Inventory
from weft.posture.core.chain.trust import WebIdentityTrust, has_wildcard, web_identity_trusts
from weft.posture.core.declarations.model import AwsCondition, AwsRole, LinkKind
from weft.posture.core.findings.audiences import foreign_to
from weft.posture.core.findings.iam_documents import policy_document
from weft.posture.core.findings.model import Finding, Fix, Kind, Severity

if TYPE_CHECKING:
    from weft.posture.core.findings.federation import Owners

STS_AUDIENCE = "sts.amazonaws.com"
_NAMESPACE_WIDE = re.compile(r"^system:serviceaccount:[^:*?]+:\*$")
_SCOPES = ("one service account", "every service account of one namespace", "service accounts of any namespace",
           "every subject")


def aws_gaps(inventory: Inventory, owners: Owners) -> list[Finding]:
    users, sessions = _users(inventory)
    found = []
    for arn in sorted(inventory.roles):
        for role in inventory.roles[arn]:
            for trust in web_identity_trusts(role):
                found += _gaps(role, trust, users.get(arn, set()), sessions.get(arn, []), owners)
    return found


def subject_scope(trust: WebIdentityTrust) -> int:
    """0 one account, 1 a namespace, 2 any namespace, 3 every subject (no positive sub condition)."""
    scopes = [max(_scope(v) for v in c.values) for c in trust.subjects if "not" not in c.operator.lower()
              and c.values]
    return min(scopes, default=3)


def _scope(pattern: str) -> int:
    if not has_wildcard(pattern):
        return 0
    return 1 if _NAMESPACE_WIDE.match(pattern) else 2


def _gaps(role: AwsRole, trust: WebIdentityTrust, users: set[str], sessions: list[RoleAssumption],
          owners: Owners) -> list[Finding]:
    name = role.arn or str(role.source)
    label = f"{name}#{trust.statement.sid or role.trust.index(trust.statement) + 1}"
    chains = owners.ordered({c for u in users for c in owners.chains(u)} | set(owners.chains(role.arn)))
    evidence = (declared(f"trust statement for tokens of {trust.issuer}", role),)
    if role.arn and (assumed := observed(f"role sessions started by {', '.join(sorted(users))}", sessions)):
        evidence += (assumed,)
    out = []
    scope = subject_scope(trust)
    if scope:
        patterns = sorted({v for c in trust.subjects for v in c.values}) or ["(no sub condition)"]
        fix = Fix(f"Admit only {', '.join(sorted(users))} with StringEquals on {trust.issuer}:sub", "aws_iam_policy",
                  (_with(role, trust, sub=sorted(users)),)) if users else Fix(f"Replace the {', '.join(patterns)} subject with StringEquals on the "
                                                 "service accounts that need the role")
        out.append(Finding(Kind.WILDCARD_SUBJECT, Severity.MEDIUM if scope == 1 else Severity.HIGH,
                           chains[0] if chains else "", label,
                           f"{name} trusts {_SCOPES[scope]} from {trust.issuer} ({', '.join(patterns)})", "",
                           evidence, {"scope": _SCOPES[scope], "subjects": patterns, "chains": chains,
                                      "usedBy": sorted(users)}, fix))
    if problem := _audience_problem(trust):
        out.append(Finding(Kind.OPEN_AUDIENCE, Severity.MEDIUM, chains[0] if chains else "", label,
                           f"{name} {problem}", "", evidence, {"chains": chains, "audiences": _audiences(trust)},
                           Fix(f"Require StringEquals {trust.issuer}:aud = {STS_AUDIENCE}", "aws_iam_policy",
                               (_with(role, trust, aud=True),))))
    return out


def _audience_problem(trust: WebIdentityTrust) -> str:
    positive = [c for c in trust.audiences if "not" not in c.operator.lower()]
    if not positive:
        return f"accepts tokens of {trust.issuer} for any audience: its trust has no {trust.issuer}:aud condition"
    values = [v for c in positive for v in c.values]
    if any(has_wildcard(v) for v in values):
        return f"accepts tokens for any audience matching {', '.join(values)}"
    if shared := [v for v in values if foreign_to("aws", v)]:
        return f"accepts tokens minted for another cloud's token exchange ({', '.join(shared)})"
    return ""


def _audiences(trust: WebIdentityTrust) -> list[str]:
    return sorted({v for c in trust.audiences for v in c.values})


def _with(role: AwsRole, trust: WebIdentityTrust, sub: list[str] | None = None, aud: bool = False) -> dict:
    """The role's trust policy with one statement's sub (or aud) condition replaced."""
    claim = "sub" if sub is not None else "aud"
    values = tuple(sub) if sub is not None else (STS_AUDIENCE,)
    kept = tuple(c for c in trust.statement.conditions if not c.key.lower().endswith(f":{claim}"))
    key = f"{trust.issuer}:{claim}"
    statement = replace(trust.statement, conditions=kept + (AwsCondition("StringEquals", key, values),))
    return policy_document(statement if s is trust.statement else s for s in role.trust)


def _users(inventory: Inventory) -> tuple[dict[str, set[str]], dict[str, list[RoleAssumption]]]:
    """Role ARN -> the service accounts (subs) whose annotation names it or that started
    sessions of it; and those sessions."""
    users: dict[str, set[str]] = {}
    sessions: dict[str, list[RoleAssumption]] = {}
    for links in inventory.annotations.values():
        for link in links:
            if link.kind is LinkKind.IRSA:
                users.setdefault(link.target, set()).add(link.subject.sub)
    for assumptions in inventory.assumptions.values():
        for a in assumptions:
            if a.success and a.kubernetes is not None:
                users.setdefault(a.role_arn, set()).add(a.kubernetes.sub)
                sessions.setdefault(a.role_arn, []).append(a)
    return users, sessions

