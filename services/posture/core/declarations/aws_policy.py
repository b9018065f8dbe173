"""AWS IAM policy documents (identity, resource and trust): their JSON Schema and their
statements as typed data. A document may also arrive as a string, URL-encoded JSON as
the IAM API returns it."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from weft.posture.core.declarations.model import AwsCondition, AwsPrincipal, Effect, PolicyStatement
from weft.posture.core.values import obj, strings

_STRINGS = {"type": ["string", "array"], "description": "a string or a list of strings",
            "items": {"type": "string", "description": "a string"}}
_OPERATORS = ("String(Not)?Equals(IgnoreCase)?|String(Not)?Like"
              "|Numeric(Not)?Equals|Numeric(Less|Greater)Than(Equals)?"
              "|Date(Not)?Equals|Date(Less|Greater)Than(Equals)?"
              "|Bool|BinaryEquals|(Not)?IpAddress|Arn(Not)?(Equals|Like)")
_CONDITION = {
    "type": "object", "description": "an object of condition operators",
    "propertyNames": {"pattern": f"^(ForAllValues:|ForAnyValue:)?({_OPERATORS})(IfExists)?$|^Null$",
                      "description": "a condition operator such as StringEquals, StringLike or ArnLike "
                                     "(optionally ForAnyValue:/ForAllValues: ... IfExists)"},
    "additionalProperties": {
        "type": "object", "description": "an object of condition keys and their values",
        "additionalProperties": {"type": ["string", "number", "boolean", "array"],
                                 "description": "a condition value or a list of them",
                                 "items": {"type": ["string", "number", "boolean"],
                                           "description": "a condition value"}}},
}
_PRINCIPAL = {
    "type": ["string", "object"], "pattern": r"^\*$", "minProperties": 1,
    "description": '"*" or an object of AWS, Federated, Service or CanonicalUser principals',
    "properties": {k: _STRINGS for k in ("AWS", "Federated", "Service", "CanonicalUser")},
    "additionalProperties": False,
}
STATEMENT_SCHEMA = {
    "type": "object", "description": "a statement (an object with Effect and Action or NotAction)",
    "required": ["Effect"],
    "anyOf": [{"required": ["Action"]}, {"required": ["NotAction"]}],
    "properties": {
        "Sid": {"type": "string", "description": "a statement id (a string)"},
        "Effect": {"enum": ["Allow", "Deny"], "description": 'Effect "Allow" or "Deny"'},
        "Action": _STRINGS, "NotAction": _STRINGS, "Resource": _STRINGS, "NotResource": _STRINGS,
        "Principal": _PRINCIPAL, "NotPrincipal": _PRINCIPAL, "Condition": _CONDITION,
    },
}
POLICY_SCHEMA = {
    "type": "object", "description": "a policy document (an object with Version and Statement)",
    "required": ["Statement"],
    "properties": {
        "Version": {"enum": ["2012-10-17", "2008-10-17"], "description": 'Version "2012-10-17" (or "2008-10-17")'},
        "Id": {"type": "string", "description": "a policy id (a string)"},
        "Statement": {"type": ["object", "array"], "description": "a statement or a list of statements",
                      "items": STATEMENT_SCHEMA, "if": {"type": "object"}, "then": STATEMENT_SCHEMA},
    },
}
_TRUST_ACTIONS = ("sts:assumerole", "sts:tagsession", "sts:setsourceidentity", "sts:setcontext")


def decode(document: Any) -> Any:
    """A policy document as an object: strings are (URL-encoded) JSON. Raises ValueError."""
    if not isinstance(document, str):
        return document
    text = unquote(document) if document.lstrip().startswith("%7B") else document
    return json.loads(text)


def statements(document: dict) -> tuple[PolicyStatement, ...]:
    """The statements of a document that POLICY_SCHEMA accepts."""
    raw = document["Statement"]
    return tuple(statement(s) for s in (raw if isinstance(raw, list) else [raw]))


def statement(s: dict) -> PolicyStatement:
    return PolicyStatement(
        effect=Effect(s["Effect"]), sid=s.get("Sid", ""),
        actions=strings(s.get("Action")), not_actions=strings(s.get("NotAction")),
        resources=strings(s.get("Resource")), not_resources=strings(s.get("NotResource")),
        principals=principals(s.get("Principal")), not_principals=principals(s.get("NotPrincipal")),
        conditions=tuple(AwsCondition(operator, key, strings(values))
                         for operator, keys in obj(s.get("Condition")).items()
                         for key, values in keys.items()))


def principals(value: Any) -> tuple[AwsPrincipal, ...]:
    if value == "*":
        return (AwsPrincipal("*", "*"),)
    return tuple(AwsPrincipal(kind, v) for kind, values in obj(value).items() for v in strings(values))


def is_trust_policy(parsed: tuple[PolicyStatement, ...]) -> bool:
    """Every statement names who may act and allows only STS role-session actions."""
    return bool(parsed) and all(
        (s.principals or s.not_principals) and s.actions
        and all(a.lower().startswith(_TRUST_ACTIONS) for a in s.actions) for s in parsed)
