"""The least-privilege IAM policy for a role: each action its sessions used, on the
resources they used it on, kept inside the statement that granted it (its conditions
too), so the replacement never grants what the original did not. Deny statements that
touch a kept action stay as they were.

Resources: an S3 object is widened to its bucket's objects (`arn:aws:s3:::BUCKET/*`,
keys change from call to call) when the granting statement already covers that; every
other resource stays exact. An action the logs name no resource for keeps the granting
statement's Resource (IAM User Guide, "Policy evaluation logic"; the action tables of
the Service Authorization Reference say which actions take no resource)."""
from __future__ import annotations

from typing import Iterable, Mapping

from weft.posture.core.chain.trust import like
from weft.posture.core.declarations.model import AwsPolicy, AwsRole, Effect, PolicyStatement
from weft.posture.core.findings.iam_actions import spelling, statement_actions
from weft.posture.core.findings.iam_documents import VERSION, conditions_document, statement_document
from weft.posture.core.model import Declaration


def role_statements(grants: Iterable[Declaration]) -> dict[PolicyStatement, str]:
    """Every permission statement of a link's grants, each once, with a label saying
    where it is (policy or role name, and its Sid or 1-based position)."""
    found: dict[PolicyStatement, str] = {}
    for g in grants:
        if isinstance(g, AwsRole):
            name, statements = g.name, g.permissions
        elif isinstance(g, AwsPolicy):
            name, statements = g.name or g.arn or g.role_name, g.statements
        else:
            continue
        for i, s in enumerate(statements, 1):
            found.setdefault(s, f"{name}/{s.sid or i}")
    return found


def least_privilege_policy(statements: Iterable[PolicyStatement],
                           used: Mapping[str, set[str]]) -> tuple[dict | None, list[str]]:
    """The replacement document (None when nothing used is granted) and notes on used
    actions or resources these statements do not grant."""
    statements = list(statements)
    allows = [(s, statement_actions(s)) for s in statements if s.effect is Effect.ALLOW]
    groups: dict[tuple, set[str]] = {}
    notes = []
    for action in sorted(used):
        granting = [s for s, actions in allows if action in actions]
        if not granting:
            notes.append(f"{spelling(action)} was used but these policies do not grant it")
            continue
        for key in _keys(action, used[action], granting, notes):
            groups.setdefault(key, set()).add(action)
    if not groups:
        return None, notes
    kept = set().union(*groups.values())
    body = [_allow(i, key, actions) for i, (key, actions) in enumerate(sorted(groups.items(), key=_order), 1)]
    body += [statement_document(s) for s in statements if s.effect is Effect.DENY and statement_actions(s) & kept]
    return {"Version": VERSION, "Statement": body}, notes


def _order(group: tuple[tuple, set[str]]) -> tuple:
    (resources, not_resources, conditions), actions = group
    return resources, not_resources, repr(conditions), sorted(actions)


def _keys(action: str, resources: set[str], granting: list[PolicyStatement], notes: list[str]) -> set[tuple]:
    if not resources:
        s = next((s for s in granting if not s.conditions), granting[0])
        return {(s.resources, s.not_resources, s.conditions)}
    keys = set()
    widened: dict[str, PolicyStatement | None] = {}     # bucket/* -> the statement that covers it
    for resource in sorted(resources):
        if candidate := _bucket_objects(resource):
            if candidate not in widened:
                widened[candidate] = next((s for s in granting if any(_covers(p, candidate) for p in s.resources)),
                                          None)
            if (s := widened[candidate]) is not None:
                keys.add(((candidate,), (), s.conditions))
                continue
        s = next((s for s in granting if _matches(s, resource)), None)
        if s is None:
            notes.append(f"{spelling(action)} on {resource} was used but these policies do not grant it")
            continue
        keys.add(((resource,), (), s.conditions))
    return keys


def _matches(s: PolicyStatement, resource: str) -> bool:
    if s.not_resources:
        return not any(like(p, resource) for p in s.not_resources)
    return any(like(p, resource) for p in s.resources)


def _bucket_objects(resource: str) -> str:
    """arn:aws:s3:::BUCKET/KEY -> arn:aws:s3:::BUCKET/*; "" for anything else."""
    head, sep, key = resource.partition(":::")
    if not (sep and head.endswith(":s3") and "/" in key):
        return ""
    return f"{head}:::{key.split('/', 1)[0]}/*"


def _covers(pattern: str, wanted: str) -> bool:
    """Whether `pattern` matches every string `wanted` (a literal prefix and `*`) does."""
    if pattern == wanted or pattern == "*":
        return True
    literal = pattern[:-1]
    return pattern.endswith("*") and "*" not in literal and "?" not in literal and wanted[:-1].startswith(literal)


def _allow(i: int, key: tuple, actions: set[str]) -> dict:
    resources, not_resources, conditions = key
    out: dict = {"Sid": f"Used{i}", "Effect": "Allow", "Action": sorted(spelling(a) for a in actions)}
    out.update({"NotResource": list(not_resources)} if not_resources else {"Resource": sorted(resources)})
    if conditions:
        out["Condition"] = conditions_document(conditions)
    return out

