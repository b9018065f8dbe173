"""Azure custom role definitions: the intent's actions and dataActions, assignable only at
its scopes. Grants with different scopes become different roles, since a role's
permissions hold wherever it is assigned."""
from __future__ import annotations

import uuid

from weft.enforce.core import ir
from weft.enforce.compilers.base import Compiler, Output, no_audit_mode, register


@register("azure_role")
class AzureRoleCompiler(Compiler):
    description = "Azure custom role definitions (ARM Microsoft.Authorization/roleDefinitions)"
    file_format = "json"
    schema = "azure/role-definition"
    aspects = ("azure.grants",)
    resource_type = "Microsoft.Authorization/roleDefinitions"
    api_version = "2022-04-01"

    def compile(self, policy: ir.Policy) -> Output:
        by_scopes: dict[tuple[str, ...], list[ir.AzureGrant]] = {}
        for grant in policy.azure.grants:
            by_scopes.setdefault(tuple(sorted(grant.scopes)), []).append(grant)
        docs = [self.role(policy, i, scopes, grants) for i, (scopes, grants) in enumerate(by_scopes.items())]
        gaps = no_audit_mode(policy, "An Azure role definition")
        return Output(docs, [g.origin for g in policy.azure.grants], gaps,
                      ["assign each role to the agent's managed identity at the scopes it lists"])

    def role(self, policy: ir.Policy, index: int, scopes: tuple[str, ...], grants: list[ir.AzureGrant]) -> dict:
        name = f"weft-{policy.name}" + (f"-{index}" if index else "")
        return {"type": self.resource_type, "apiVersion": self.api_version,
                "name": str(uuid.uuid5(uuid.NAMESPACE_URL, f"weft.dev/role/{name}/{'|'.join(scopes)}")),
                "properties": {"roleName": name, "description": f"weft AgentPolicy {policy.name}",
                               "type": "CustomRole",
                               "permissions": [{"actions": _unique(a for g in grants for a in g.actions),
                                                "notActions": [],
                                                "dataActions": _unique(a for g in grants for a in g.data_actions),
                                                "notDataActions": []}],
                               "assignableScopes": list(scopes)}}


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))
