"""VPC Service Controls egress policies: calls from inside the perimeter to the projects
the grants live in, limited to the grants' roles or permissions, from the agent's Google
service account (VPC Service Controls does not take Workload Identity Federation for GKE
principals). A perimeter works per project: finer resources are left to gcp_binding."""
from __future__ import annotations

from weft.enforce.core import ir
from weft.enforce.compilers.base import Compiler, Gap, Output, register


@register("gcp_vpcsc")
class GcpVpcScCompiler(Compiler):
    description = "VPC Service Controls egress policies for the agent's cloud calls"
    schema = "gcp/egress-policy"
    file_is_list = True  # --set-egress-policies reads a list of egress policies
    aspects = ("gcp.grants",)
    parameters = {
        "type": "object", "required": ["gcp"],
        "properties": {"gcp": {
            "type": "object", "required": ["serviceAccount", "projectNumber"],
            "description": "spec.cloud.gcp or a gcp cluster in spec.clusters", "properties": {
            "serviceAccount": {"description": "spec.cloud.gcp.serviceAccount: VPC Service Controls does not accept "
                                              "Workload Identity Federation for GKE principals, so egress rules name "
                                              "the Google service account the agent acts as"},
            "projectNumber": {"description": "spec.cloud.gcp.projectNumber, or projectNumber on the selected "
                                             "gcp cluster"}}}}}

    def compile(self, policy: ir.Policy) -> Output:
        gcp = policy.gcp
        source = {"identities": [f"serviceAccount:{gcp.service_account}"]}
        docs, gaps = [], []
        for i, grant in enumerate(gcp.grants):
            resources = [f"projects/{grant.project or gcp.project_number}"]
            title = f"weft {policy.name} allow[{i}]"
            if grant.roles:
                docs.append({"title": title, "egressFrom": source,
                             "egressTo": {"resources": resources, "roles": list(grant.roles)}})
            if grant.permissions:
                docs.append({"title": title, "egressFrom": source,
                             "egressTo": {"resources": resources, "operations": self.operations(grant.permissions)}})
            if grant.resources:
                gaps.append(Gap(grant.origin, "VPC Service Controls allow a whole project; "
                                              "the resources within it are enforced by gcp_binding"))
        if policy.mode != "enforce":
            gaps.append(Gap("spec.mode", f"mode {policy.mode}: apply these to the perimeter's dry-run spec "
                                         "(gcloud access-context-manager perimeters dry-run update)"))
        return Output(docs, [g.origin for g in gcp.grants], gaps,
                      ["gcloud access-context-manager perimeters update PERIMETER --set-egress-policies=<this file>"])

    @staticmethod
    def operations(permissions: tuple[str, ...]) -> list[dict]:
        by_service: dict[str, list[dict]] = {}
        for p in permissions:
            by_service.setdefault(f"{p.split('.')[0]}.googleapis.com", []).append({"permission": p})
        return [{"serviceName": s, "methodSelectors": m} for s, m in by_service.items()]
