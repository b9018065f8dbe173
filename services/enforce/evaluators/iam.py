"""AWS IAM policy evaluation for one request, as the policy language defines it: an
explicit Deny wins, else some Allow must match the action (case-insensitive, * and ?),
the resource (case-sensitive), the principal (trust policies) and every condition.
Written apart from the compilers; conditions cover the operators weft's targets use."""
from __future__ import annotations

import fnmatch
from typing import Any


class Unsupported(Exception):
    pass


def allows(policy: dict, action: str, resource: str | None = None, context: dict[str, str] | None = None,
           principal: tuple[str, str] | None = None) -> bool:
    allowed = False
    for st in _list(policy.get("Statement")):
        if not _matches(st, "Action", "NotAction", action, ci=True):
            continue
        if resource is not None and not _matches(st, "Resource", "NotResource", resource, ci=False):
            continue
        if principal is not None and not _principal(st, principal):
            continue
        if not conditions_hold(st.get("Condition", {}), context or {}):
            continue
        if st.get("Effect") == "Deny":
            return False
        allowed = True
    return allowed


def _list(x: Any) -> list:
    return x if isinstance(x, list) else [] if x is None else [x]


def _glob(pattern: str, value: str, ci: bool) -> bool:
    return fnmatch.fnmatchcase(value.lower(), pattern.lower()) if ci else fnmatch.fnmatchcase(value, pattern)


def _matches(st: dict, key: str, not_key: str, value: str, ci: bool) -> bool:
    if key in st:
        return any(_glob(p, value, ci) for p in _list(st[key]))
    if not_key in st:
        return not any(_glob(p, value, ci) for p in _list(st[not_key]))
    return False


def _principal(st: dict, principal: tuple[str, str]) -> bool:
    kind, value = principal
    p = st.get("Principal")
    if p == "*":
        return True
    return isinstance(p, dict) and any(v == "*" or v == value for v in _list(p.get(kind)))


def conditions_hold(conditions: dict, context: dict[str, str]) -> bool:
    for operator, tests in conditions.items():
        for key, expected in tests.items():
            if not _condition(operator, context.get(key), [str(e) for e in _list(expected)]):
                return False
    return True


def _condition(operator: str, actual: str | None, expected: list[str]) -> bool:
    op = operator.split(":", 1)[1] if ":" in operator else operator  # ForAnyValue: on a single value
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    negated = "Not" in op
    if actual is None:
        return if_exists or negated
    base = op.replace("Not", "")
    if base in ("StringEquals", "ArnEquals"):
        hit = actual in expected
    elif base == "StringEqualsIgnoreCase":
        hit = actual.lower() in [e.lower() for e in expected]
    elif base in ("StringLike", "ArnLike"):
        hit = any(fnmatch.fnmatchcase(actual, e) for e in expected)
    elif base == "Bool":
        hit = actual.lower() in [e.lower() for e in expected]
    else:
        raise Unsupported(f"condition operator {operator}")
    return hit != negated
