"""GCP IAM policy bindings for the agent's Workload Identity Federation for GKE principal:
each grant's roles (or weft's custom role, for permissions) with a condition on
`resource.name` when the grant names resources. One policy per project the grants live in."""
from __future__ import annotations

from weft.enforce.core import ir
from weft.enforce.compilers import gcp_common
from weft.enforce.compilers.base import Compiler, Output, no_audit_mode, register


@register("gcp_binding")
class GcpBindingCompiler(Compiler):
    description = "GCP IAM policy bindings with conditions for the agent's Workload Identity principal"
    file_format = "json"
    schema = "gcp/iam-policy"
    aspects = ("gcp.grants",)
    policy_version = 3  # conditions need version 3
    parameters = {
        "type": "object", "required": ["gcp", "selector"],
        "properties": {
            "selector": {"type": "object", "required": ["serviceAccount"],
                         "properties": {"serviceAccount": {"description": "spec.selector.serviceAccount"}}},
            "gcp": {"type": "object", "required": ["projectId", "projectNumber"],
                    "description": "spec.cloud.gcp or a gcp cluster in spec.clusters",
                    "properties": gcp_common.PROJECT_PARAMETERS}}}

    def compile(self, policy: ir.Policy) -> Output:
        member = gcp_common.principal(policy)
        by_project: dict[str, list[dict]] = {}
        for i, grant in enumerate(policy.gcp.grants):
            roles = list(grant.roles) + ([gcp_common.custom_role(policy)] if grant.permissions else [])
            project = grant.project or policy.gcp.project_id
            for role in roles:
                binding: dict = {"role": role, "members": [member]}
                if grant.resources:
                    binding["condition"] = {"title": f"weft {policy.name} allow[{i}]",
                                            "expression": gcp_common.resource_condition(grant.resources)}
                by_project.setdefault(project, []).append(binding)
        docs = [{"version": self.policy_version, "bindings": b} for b in by_project.values()]
        notes = [f"document {n + 1}: add its bindings to the policy of projects/{p} (gcloud projects "
                 "add-iam-policy-binding --condition=...); set-iam-policy would replace the rest"
                 for n, p in enumerate(by_project)]
        gaps = no_audit_mode(policy, "A GCP IAM binding")
        return Output(docs, [g.origin for g in policy.gcp.grants], gaps, notes)
