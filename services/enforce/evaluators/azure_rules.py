"""Enough of the Azure Policy rule language to evaluate a rule on one resource: allOf,
anyOf, not; field conditions with equals, notEquals, in, notIn, like, notLike, contains,
notContains (case-insensitive); `[*]` aliases true only when every member is; and
`[parameters('x')]` taken from the definition's parameter defaults."""
from __future__ import annotations

import fnmatch
import re
from typing import Any

PROVIDER_ALIAS = re.compile(r"^Microsoft\.[A-Za-z]+/[A-Za-z/]+?/(?P<prop>[A-Za-z]+(\[\*\])?)$")


def holds(condition: dict, resource: dict, parameters: dict) -> bool:
    if "allOf" in condition:
        return all(holds(c, resource, parameters) for c in condition["allOf"])
    if "anyOf" in condition:
        return any(holds(c, resource, parameters) for c in condition["anyOf"])
    if "not" in condition:
        return not holds(condition["not"], resource, parameters)
    values, every = _field(resource, condition["field"])
    ops = [k for k in condition if k != "field"]
    op, expected = ops[0], resolve(condition[ops[0]], parameters)
    results = [_compare(op, v, expected) for v in values]
    return all(results) if every else bool(results) and results[0]


def resolve(value: Any, parameters: dict) -> Any:
    if isinstance(value, str):
        m = re.fullmatch(r"\[parameters\('([^']+)'\)\]", value)
        if m:
            return parameters.get(m[1], {}).get("defaultValue")
    return value


def _field(resource: dict, field: str) -> tuple[list[Any], bool]:
    if field in ("type", "id", "name", "location"):
        return [resource.get(field)], False
    m = PROVIDER_ALIAS.match(field)
    if not m:
        raise ValueError(f"unknown alias {field}")
    prop = m["prop"]
    if prop.endswith("[*]"):
        return list(resource.get("properties", {}).get(prop[:-3], [])), True
    return [resource.get("properties", {}).get(prop)], False


def _compare(op: str, actual: Any, expected: Any) -> bool:
    a = actual.lower() if isinstance(actual, str) else actual
    e = [x.lower() if isinstance(x, str) else x for x in expected] if isinstance(expected, list) else \
        (expected.lower() if isinstance(expected, str) else expected)
    match op:
        case "equals":
            return a == e
        case "notEquals":
            return a != e
        case "in":
            return a in e
        case "notIn":
            return a not in e
        case "like":
            return isinstance(a, str) and fnmatch.fnmatchcase(a, e)
        case "notLike":
            return not (isinstance(a, str) and fnmatch.fnmatchcase(a, e))
        case "contains":
            return isinstance(a, str) and e in a
        case "notContains":
            return not (isinstance(a, str) and e in a)
    raise ValueError(f"unsupported operator {op}")
