"""GCP IAM allow policies: getIamPolicy output ({version, bindings, etag}), a
setIamPolicy request ({policy: ...}), or a searchAllIamPolicies result ({resource,
policy: ...}) which also says which resource the policy is on. Each binding is one
GcpBinding; a broken binding is an error and the other bindings still load."""
from __future__ import annotations

from weft.posture.core.declarations.gcp_members import EXPECTED, parse_member
from weft.posture.core.declarations.model import GcpBinding, GcpCondition, GcpMember
from weft.posture.core.model import ParseError, Source, pointer
from weft.posture.core.parsers import Parsed, parser
from weft.posture.core.schema import check, found
from weft.posture.core.values import string

BINDING_SCHEMA = {
    "type": "object", "description": "a binding (role, members, optional condition)",
    "required": ["role", "members"],
    "properties": {
        "role": {"type": "string", "pattern": r"^(roles/|projects/[^/]+/roles/|organizations/[^/]+/roles/)[\w.]+$",
                 "description": "a role (roles/NAME, projects/P/roles/NAME or organizations/O/roles/NAME)"},
        "members": {"type": "array", "minItems": 1, "description": "a non-empty list of members",
                    "items": {"type": "string", "description": "a member (a string)"}},
        "condition": {"type": "object", "required": ["expression"], "description": "a condition (expression, title)",
                      "properties": {"expression": {"type": "string", "minLength": 1,
                                                    "description": "a CEL expression (a non-empty string)"},
                                     "title": {"type": "string", "description": "a title (a string)"},
                                     "description": {"type": "string", "description": "a description (a string)"}}},
    },
}


@parser("gcp_iam")
def parse(record: dict, at: Source) -> Parsed:
    base = ("policy",) if "policy" in record else ()
    policy = record.get("policy", record)
    resource = string(record.get("resource"))
    items: list[GcpBinding] = []
    errors: list[ParseError] = []
    for index, raw in enumerate(policy["bindings"]):
        path = (*base, "bindings", index)
        if binding_errors := check(raw, BINDING_SCHEMA, at, *path):
            errors.extend(binding_errors)
            continue
        members, member_errors = _members(raw["members"], at, path)
        if member_errors:
            errors.extend(member_errors)
            continue
        condition = raw.get("condition")
        items.append(GcpBinding(
            source=at, resource=resource, role=raw["role"], members=members,
            condition=GcpCondition(condition["expression"], string(condition.get("title")),
                                   string(condition.get("description"))) if condition else None))
    return items, errors


def _members(raw: list[str], at: Source, path: tuple) -> tuple[tuple[GcpMember, ...], list[ParseError]]:
    members, errors = [], []
    for index, text in enumerate(raw):
        if (member := parse_member(text)) is None:
            errors.append(at.error(pointer(*path, "members", index), EXPECTED, found(text)))
        else:
            members.append(member)
    return tuple(members), errors
