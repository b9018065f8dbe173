"""AWS IAM JSON as the CLI and API give it: a role (get-role, list-roles items, with its
trust policy and, when present, inline policies and attached policy ARNs), an inline
policy (get-role-policy), a managed policy version (get-policy-version), or a bare
policy document (trust when it only grants STS role-session actions to principals)."""
from __future__ import annotations

from typing import Any

from weft.posture.core.declarations.aws_policy import POLICY_SCHEMA, decode, is_trust_policy, statements
from weft.posture.core.declarations.model import AwsPolicy, AwsRole, PolicyStatement
from weft.posture.core.identifiers import ROLE_ARN_SCHEMA, role_name
from weft.posture.core.model import ParseError, Source, pointer
from weft.posture.core.parsers import Parsed, parser
from weft.posture.core.schema import check, found
from weft.posture.core.values import obj, string

_ROLE_SCHEMA = {
    "type": "object", "description": "a role (RoleName, Arn, AssumeRolePolicyDocument)",
    "properties": {
        "Arn": ROLE_ARN_SCHEMA,
        "RoleName": {"type": "string", "minLength": 1, "description": "a role name (a non-empty string)"},
        "RolePolicyList": {"type": "array", "description": "a list of inline policies",
                           "items": {"type": "object", "required": ["PolicyDocument"],
                                     "description": "an inline policy (PolicyName, PolicyDocument)"}},
        "AttachedManagedPolicies": {"type": "array", "description": "a list of attached policies",
                                    "items": {"type": "object", "required": ["PolicyArn"],
                                              "description": "an attached policy (PolicyName, PolicyArn)",
                                              "properties": {"PolicyArn": {"type": "string"}}}},
    },
}


class _Bad(Exception):
    def __init__(self, errors: list[ParseError]):
        self.errors = errors


@parser("aws_iam")
def parse(record: dict, at: Source) -> Parsed:
    try:
        if "AssumeRolePolicyDocument" in obj(record.get("Role", record)):
            return [_role(record, at)], []
        if isinstance(obj(record.get("PolicyVersion")).get("Document"), (dict, str)):
            return [_policy(record, at, ("PolicyVersion", "Document"))], []
        if "PolicyDocument" in record:
            return [_policy(record, at, ("PolicyDocument",))], []
        return [_document(record, at)], []
    except _Bad as bad:
        return [], bad.errors


def _role(record: dict, at: Source) -> AwsRole:
    base = ("Role",) if "Role" in record else ()
    role = record.get("Role", record)
    if errors := check(role, _ROLE_SCHEMA, at, *base):
        raise _Bad(errors)
    trust = _statements(role["AssumeRolePolicyDocument"], at, (*base, "AssumeRolePolicyDocument"))
    inline = tuple(s for i, p in enumerate(role.get("RolePolicyList", []))
                   for s in _statements(p["PolicyDocument"], at, (*base, "RolePolicyList", i, "PolicyDocument")))
    arn = string(role.get("Arn"))
    return AwsRole(source=at, arn=arn, name=string(role.get("RoleName")) or role_name(arn), trust=trust,
                   permissions=inline,
                   attached_policy_arns=tuple(p["PolicyArn"] for p in role.get("AttachedManagedPolicies", [])))


def _policy(record: dict, at: Source, path: tuple[str, ...]) -> AwsPolicy:
    document = record[path[0]] if len(path) == 1 else record[path[0]][path[1]]
    return AwsPolicy(source=at, name=string(record.get("PolicyName")), arn=string(record.get("PolicyArn")),
                     role_name=string(record.get("RoleName")), statements=_statements(document, at, path))


def _document(record: dict, at: Source) -> AwsRole | AwsPolicy:
    parsed = _statements(record, at, ())
    if is_trust_policy(parsed):
        return AwsRole(source=at, arn="", name="", trust=parsed)
    return AwsPolicy(source=at, name="", arn="", role_name="", statements=parsed)


def _statements(document: Any, at: Source, path: tuple[str | int, ...]) -> tuple[PolicyStatement, ...]:
    try:
        document = decode(document)
    except ValueError:
        raise _Bad([at.error(pointer(*path), "a policy document (a JSON object, or JSON text)",
                             found(document))]) from None
    if errors := check(document, POLICY_SCHEMA, at, *path):
        raise _Bad(errors)
    return statements(document)
