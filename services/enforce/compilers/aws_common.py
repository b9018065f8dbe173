"""What the AWS targets share: the policy language version, statements from the intent's
grants, and how an EKS cluster's OIDC issuer is named in IAM."""
from __future__ import annotations

import re

from weft.enforce.core import ir

VERSION = "2012-10-17"
STS_AUDIENCE = "sts.amazonaws.com"


def allow_statements(grants: tuple[ir.AwsGrant, ...]) -> list[dict]:
    return [{"Sid": f"WeftAllow{i}", "Effect": "Allow", "Action": list(g.actions), "Resource": list(g.resources)}
            for i, g in enumerate(grants)]


def issuer_path(issuer: str) -> str:
    """https://oidc.eks.us-east-1.amazonaws.com/id/ABC -> oidc.eks.us-east-1.amazonaws.com/id/ABC"""
    return issuer.removeprefix("https://").rstrip("/")


def sid(name: str) -> str:
    """Statement ids are alphanumeric: eks-prod -> EksProd."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def role_arn(context: ir.AwsContext) -> str:
    return f"arn:aws:iam::{context.account_id}:role/{context.role_name}"
