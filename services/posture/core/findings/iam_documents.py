"""Typed IAM statements back to policy JSON, as IAM writes them: one value as a string,
several as a list; conditions as {operator: {key: value(s)}}."""
from __future__ import annotations

from weft.posture.core.declarations.model import AwsCondition, AwsPrincipal, PolicyStatement

VERSION = "2012-10-17"


def policy_document(statements) -> dict:
    return {"Version": VERSION, "Statement": [statement_document(s) for s in statements]}


def statement_document(s: PolicyStatement) -> dict:
    out: dict = {"Sid": s.sid} if s.sid else {}
    out["Effect"] = s.effect.value
    if s.principals:
        out["Principal"] = principals_document(s.principals)
    if s.not_principals:
        out["NotPrincipal"] = principals_document(s.not_principals)
    out.update({"NotAction": _one(s.not_actions)} if s.not_actions else {"Action": _one(s.actions)})
    if s.not_resources:
        out["NotResource"] = _one(s.not_resources)
    elif s.resources:
        out["Resource"] = _one(s.resources)
    if s.conditions:
        out["Condition"] = conditions_document(s.conditions)
    return out


def principals_document(principals: tuple[AwsPrincipal, ...]) -> dict | str:
    if any(p.kind == "*" for p in principals):
        return "*"
    out: dict[str, list[str]] = {}
    for p in principals:
        out.setdefault(p.kind, []).append(p.value)
    return {k: _one(tuple(v)) for k, v in out.items()}


def conditions_document(conditions: tuple[AwsCondition, ...]) -> dict:
    out: dict[str, dict] = {}
    for c in conditions:
        out.setdefault(c.operator, {})[c.key] = _one(c.values)
    return out


def _one(values: tuple[str, ...]) -> str | list[str]:
    return values[0] if len(values) == 1 else list(values)
