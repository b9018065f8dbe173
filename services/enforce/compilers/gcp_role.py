"""The GCP custom role that carries the intent's permissions (roles are bound as they
are); gcp_binding binds it to the agent's principal."""
from __future__ import annotations

from weft.enforce.core import ir
from weft.enforce.compilers import gcp_common
from weft.enforce.compilers.base import Compiler, Output, register


@register("gcp_role")
class GcpRoleCompiler(Compiler):
    description = "GCP custom role with the intent's permissions"
    file_format = "json"
    schema = "gcp/role"
    aspects = ("gcp.grants",)
    stage = "GA"
    parameters = {"type": "object", "required": ["gcp"],
                  "properties": {"gcp": {"type": "object", "required": ["projectId"],
                                         "description": "spec.cloud.gcp or a gcp cluster in spec.clusters",
                                         "properties": gcp_common.PROJECT_PARAMETERS}}}

    def missing(self, policy: ir.Policy) -> list[str]:
        if policy.gcp and policy.gcp.grants and not any(g.permissions for g in policy.gcp.grants):
            return ["the intent lists no GCP permissions (roles are bound as they are)"]
        return super().missing(policy)

    def compile(self, policy: ir.Policy) -> Output:
        grants = [g for g in policy.gcp.grants if g.permissions]
        doc = {"name": gcp_common.custom_role(policy), "title": f"weft {policy.name}",
               "description": f"Permissions of weft AgentPolicy {policy.name}",
               "includedPermissions": sorted({p for g in grants for p in g.permissions}), "stage": self.stage}
        return Output([doc], [g.origin for g in grants], [],
                      [f"gcloud iam roles create {doc['name'].rsplit('/', 1)[1]} --project {policy.gcp.project_id} "
                       "--file <this file>"])
