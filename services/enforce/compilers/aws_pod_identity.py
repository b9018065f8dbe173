"""EKS Pod Identity: one association per selected EKS cluster binding the agent's service
account to its role, carrying the intent's grants as the association's session policy
(which EKS accepts only with the automatic session tags turned off)."""
from __future__ import annotations

import json

from weft.enforce.core import ir
from weft.enforce.compilers import aws_common
from weft.enforce.compilers.base import Compiler, Output, no_audit_mode, register


@register("aws_pod_identity")
class AwsPodIdentityCompiler(Compiler):
    description = "EKS Pod Identity associations with the grants as session policy"
    file_format = "json"
    schema = "aws/pod-identity-association"
    aspects = ("aws.grants",)
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
                        "clusters": {"type": "array", "minItems": 1,
                                     "description": "an aws cluster in spec.clusters (the association names it)"}}}}}

    def compile(self, policy: ir.Policy) -> Output:
        aws = policy.aws
        session = {"Version": aws_common.VERSION, "Statement": aws_common.allow_statements(aws.grants)}
        docs = [{"clusterName": c.name, "namespace": policy.selector.namespace,
                 "serviceAccount": policy.selector.service_account, "roleArn": aws_common.role_arn(aws),
                 "disableSessionTags": True, "policy": json.dumps(session, separators=(",", ":"))}
                for c in aws.clusters]
        enforces = [g.origin for g in aws.grants] + ["spec.selector.serviceAccount", "spec.selector.clusters"]
        return Output(docs, enforces, no_audit_mode(policy, "A Pod Identity association"),
                      ["aws eks create-pod-identity-association --cli-input-json <one entry>; role "
                       f"{aws.role_name} must trust pods.eks.amazonaws.com (sts:AssumeRole, sts:TagSession)"])
