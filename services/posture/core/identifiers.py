"""Identifier shapes shared by several formats: IAM role and session ARNs, Entra
client/object ids, Google service account emails. Each comes as a regex and as the
JSON Schema fragment whose description is the expectation errors show."""
from __future__ import annotations

import re

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/((?:[^/]+/)*)([\w+=,.@-]+)$")
SESSION_ARN = re.compile(r"^arn:aws[a-z-]*:sts::(\d{12}):assumed-role/([\w+=,.@-]+)/(.+)$")
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
GOOGLE_SERVICE_ACCOUNT = re.compile(r"^[^@\s]+@[a-z0-9.-]+\.gserviceaccount\.com$")

ROLE_ARN_SCHEMA = {"type": "string", "pattern": ROLE_ARN.pattern,
                   "description": "an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"}
GUID_SCHEMA = {"type": "string", "pattern": GUID.pattern,
               "description": "a GUID such as 00000000-0000-0000-0000-000000000000"}
GOOGLE_SERVICE_ACCOUNT_SCHEMA = {"type": "string", "pattern": GOOGLE_SERVICE_ACCOUNT.pattern,
                                 "description": "a Google service account email (NAME@PROJECT.iam.gserviceaccount.com)"}


def role_name(role_arn: str) -> str:
    """The role's name (without its path); "" when `role_arn` is not a role ARN."""
    match = ROLE_ARN.match(role_arn)
    return match.group(3) if match else ""


def role_of_session(session_arn: str) -> str:
    """arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION -> arn:aws:iam::ACCOUNT:role/NAME.
    A session ARN drops the role's path, so prefer the log's sessionIssuer when it has one."""
    match = SESSION_ARN.match(session_arn)
    if not match:
        return ""
    partition = session_arn.split(":")[1]
    return f"arn:{partition}:iam::{match.group(1)}:role/{match.group(2)}"


def session_name(session_arn: str) -> str:
    match = SESSION_ARN.match(session_arn)
    return match.group(3) if match else ""
