"""IAM actions through policyuniverse's table of every AWS action: what a pattern
(`s3:Get*`, `*`, a NotAction list) expands to, each action's documented spelling, and
its access level (List, Read, Write, Tagging, Permissions). Actions are compared
lower-case, as IAM compares them; an action policyuniverse does not know yet stands
for itself."""
from __future__ import annotations

from functools import lru_cache
from typing import Iterable

from policyuniverse import all_permissions, get_actions_from_statement, service_data
from policyuniverse.action_categories import categories_for_actions

from weft.posture.core.declarations.model import Effect, PolicyStatement

ESCALATING = frozenset({"iam:passrole", "sts:assumerole"})   # Write by the table, privilege in effect
ALL = frozenset(all_permissions)


@lru_cache(maxsize=1)
def _spellings() -> dict[str, str]:
    return {f"{body['prefix']}:{name}".lower(): f"{body['prefix']}:{name}"
            for body in service_data.values() for name in body["actions"]}


@lru_cache(maxsize=16384)
def expand(pattern: str) -> frozenset[str]:
    """The actions a pattern matches, lower-case."""
    return frozenset(get_actions_from_statement({"Action": [pattern.lower()]}))


def expand_all(patterns: Iterable[str]) -> frozenset[str]:
    out: set[str] = set()
    for p in patterns:
        out |= expand(p)
    return frozenset(out)


def statement_actions(s: PolicyStatement) -> frozenset[str]:
    """The actions a statement applies to (Action, or everything but NotAction)."""
    if s.not_actions:
        return ALL - expand_all(s.not_actions)
    return expand_all(s.actions)


def allowed_actions(statements: Iterable[PolicyStatement]) -> frozenset[str]:
    """Actions some Allow statement grants on some resource, minus those an unconditional
    Deny on every resource takes away."""
    statements = list(statements)
    allowed = frozenset().union(*(statement_actions(s) for s in statements if s.effect is Effect.ALLOW))
    denied = frozenset().union(*(statement_actions(s) for s in statements if s.effect is Effect.DENY
                                 and s.resources == ("*",) and not s.conditions and not s.not_resources))
    return allowed - denied


def spelling(action: str) -> str:
    """s3:getobject -> s3:GetObject (the documented spelling, when known)."""
    return _spellings().get(action.lower(), action)


def access_level(action: str) -> str:
    action = action.lower()
    if action in ESCALATING:
        return "Permissions"
    return _level(action)


@lru_cache(maxsize=16384)
def _level(action: str) -> str:
    found = categories_for_actions([action]).get(action.split(":", 1)[0], set())
    return next(iter(found), None) or "Unknown"
