"""AWS IAM permissions boundary: the most the agent's role may ever do, whatever policies
are attached to it later: exactly the intent's actions on its resources."""
from __future__ import annotations

from weft.enforce.core import ir
from weft.enforce.compilers import aws_common
from weft.enforce.compilers.base import Compiler, Output, no_audit_mode, register


@register("aws_boundary")
class AwsBoundaryCompiler(Compiler):
    description = "AWS IAM permissions boundary (identity policy) for the agent's role"
    file_format = "json"
    schema = "aws/identity-policy"
    aspects = ("aws.grants",)

    def compile(self, policy: ir.Policy) -> Output:
        doc = {"Version": aws_common.VERSION, "Statement": aws_common.allow_statements(policy.aws.grants)}
        gaps = no_audit_mode(policy, "An IAM permissions boundary")
        return Output([doc], [g.origin for g in policy.aws.grants], gaps,
                      [f"aws iam put-role-permissions-boundary --role-name {policy.aws.role_name} "
                       "--permissions-boundary <ARN of this policy>; a boundary grants nothing by itself"])
