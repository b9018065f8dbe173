"""The trust policy of the agent's role for IAM Roles for Service Accounts: each selected
EKS cluster's OIDC provider may federate, only for the agent's service account token
(`:sub`) issued for STS (`:aud`)."""
from __future__ import annotations

from weft.enforce.core import ir
from weft.enforce.compilers import aws_common
from weft.enforce.compilers.base import Compiler, Output, no_audit_mode, register

_ISSUER = "oidcIssuer on each selected aws cluster in spec.clusters (the cluster's OIDC issuer URL)"


@register("aws_irsa")
class AwsIrsaCompiler(Compiler):
    description = "AWS IRSA trust policy: the agent's service account on the selected EKS clusters"
    file_format = "json"
    schema = "aws/trust-policy"
    action = "sts:AssumeRoleWithWebIdentity"
    parameters = {
        "type": "object", "required": ["aws", "selector"],
        "properties": {
            "selector": {"type": "object", "required": ["serviceAccount"],
                         "properties": {"serviceAccount": {"description": "spec.selector.serviceAccount"}}},
            "aws": {"type": "object", "required": ["accountId", "clusters"],
                    "description": "spec.cloud.aws or an aws cluster in spec.clusters",
                    "properties": {
                        "accountId": {"description": "spec.cloud.aws.accountId, or accountId on the selected "
                                                     "aws clusters"},
                        "clusters": {"type": "array", "minItems": 1, "description": "an aws cluster in spec.clusters",
                                     "items": {"type": "object", "required": ["oidcIssuer"],
                                               "properties": {"oidcIssuer": {"description": _ISSUER}}}}}}}}

    def compile(self, policy: ir.Policy) -> Output:
        aws = policy.aws
        statements = [self.statement(aws.account_id, c, policy.selector.subject) for c in aws.clusters]
        doc = {"Version": aws_common.VERSION, "Statement": statements}
        return Output([doc], ["spec.selector.serviceAccount", "spec.selector.clusters"],
                      no_audit_mode(policy, "An IRSA trust policy"),
                      [f"the trust policy of role {aws.role_name}; the cluster's OIDC provider must exist in IAM"])

    def statement(self, account: str, cluster: ir.Cluster, subject: str) -> dict:
        path = aws_common.issuer_path(cluster.oidc_issuer)
        return {"Sid": f"WeftIrsa{aws_common.sid(cluster.name)}", "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{path}"},
                "Action": self.action,
                "Condition": {"StringEquals": {f"{path}:sub": subject, f"{path}:aud": aws_common.STS_AUDIENCE}}}
