"""Which Kubernetes service accounts an IAM role's web-identity trust admits, as IAM
decides it: an Allow statement for sts:AssumeRoleWithWebIdentity whose Federated
principal is the cluster's OIDC provider, and whose conditions on `<issuer>:sub` and
`<issuer>:aud` hold for the token. Values of one operator and key are ORed, operators
and keys ANDed; StringLike's `*` and `?` are its only wildcards; the ForAnyValue: and
ForAllValues: prefixes and the IfExists suffix change nothing for the single-valued,
always present `sub` and `aud` claims (IAM User Guide, "IAM JSON policy elements:
Condition operators"; EKS User Guide, "Assign IAM roles to Kubernetes service
accounts")."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from weft.posture.core.declarations.model import AwsCondition, AwsRole, Effect, PolicyStatement

WEB_IDENTITY = "sts:assumerolewithwebidentity"
_SUPPORTED = {"stringequals", "stringequalsignorecase", "stringlike",
              "stringnotequals", "stringnotequalsignorecase", "stringnotlike"}


@dataclass(frozen=True)
class WebIdentityTrust:
    """One trust statement of a role for tokens of one OIDC issuer."""
    role: AwsRole
    statement: PolicyStatement
    issuer: str                                 # host/path, as IAM names the provider (case kept)
    subjects: tuple[AwsCondition, ...]          # conditions on <issuer>:sub; () admits every subject
    audiences: tuple[AwsCondition, ...]         # conditions on <issuer>:aud

    def admits(self, sub: str) -> bool:
        return all(holds(c, sub) for c in self.subjects)

    def exact_subjects(self) -> tuple[str, ...]:
        """Subjects named without wildcards by StringEquals (the index key for lookups)."""
        return tuple(v for c in self.subjects if _base(c.operator) == "stringequals" for v in c.values)


def web_identity_trusts(role: AwsRole) -> list[WebIdentityTrust]:
    found = []
    for statement in role.trust:
        if statement.effect is not Effect.ALLOW or not any(matches_action(a, WEB_IDENTITY)
                                                           for a in statement.actions):
            continue
        for principal in statement.principals:
            if principal.kind == "Federated" and (issuer := oidc_issuer(principal.value)):
                found.append(WebIdentityTrust(role, statement, issuer, _on(statement, issuer, "sub"),
                                              _on(statement, issuer, "aud")))
    return found


def oidc_issuer(provider: str) -> str:
    """arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH (or an issuer URL) -> HOST/PATH."""
    _, found, rest = provider.partition(":oidc-provider/")
    return (rest if found else provider).removeprefix("https://").rstrip("/")


def normalise_issuer(issuer: str) -> str:
    """The form issuers are compared in: no scheme, no final slash, lower case."""
    return issuer.removeprefix("https://").rstrip("/").lower()


def holds(condition: AwsCondition, value: str) -> bool:
    """Whether a string condition holds for `value`; an operator IAM would not apply to a
    string claim (Numeric, Date, ...) is taken as holding: it is not a restriction weft
    can judge, and a chain must not lose a link for it."""
    base = _base(condition.operator)
    if base not in _SUPPORTED:
        return True
    negated = "not" in base
    if base.endswith("like"):
        hit = any(like(pattern, value) for pattern in condition.values)
    elif base.endswith("ignorecase"):
        hit = value.lower() in (v.lower() for v in condition.values)
    else:
        hit = value in condition.values
    return hit != negated


def like(pattern: str, value: str) -> bool:
    return _glob(pattern).fullmatch(value) is not None


def has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def matches_action(pattern: str, action: str) -> bool:
    """An IAM action pattern against an action, case-insensitively."""
    return _glob(pattern.lower()).fullmatch(action.lower()) is not None


@lru_cache(maxsize=4096)
def _glob(pattern: str) -> re.Pattern:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.S)


def _base(operator: str) -> str:
    return operator.split(":", 1)[-1].lower().removesuffix("ifexists")


def _on(statement: PolicyStatement, issuer: str, claim: str) -> tuple[AwsCondition, ...]:
    key = f"{normalise_issuer(issuer)}:{claim}"
    return tuple(c for c in statement.conditions if normalise_issuer(c.key) == key)
