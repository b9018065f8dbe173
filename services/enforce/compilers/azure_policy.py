"""An Azure Policy definition that keeps the AKS side of the identity chain as the intent
says: no federated credential may be added to the agent's identity unless it trusts a
selected AKS cluster's issuer, for the agent's service account, with the token-exchange
audience. Deny in mode enforce, audit otherwise."""
from __future__ import annotations

from weft.enforce.core import ir
from weft.enforce.compilers import azure_common
from weft.enforce.compilers.base import Compiler, Output, register

ALIAS = azure_common.FEDERATED_CREDENTIAL_TYPE


@register("azure_policy")
class AzurePolicyCompiler(Compiler):
    description = "Azure Policy definition: only the agent's AKS service account may federate to its identity"
    file_format = "json"
    schema = "azure/policy-definition"
    parameters = azure_common.FEDERATION_PARAMETERS
    effect = {"enforce": "Deny", "audit": "Audit", "observe": "Audit"}

    def compile(self, policy: ir.Policy) -> Output:
        identity = policy.azure.identity_name
        rule = {"if": {"allOf": [
                    {"field": "type", "equals": azure_common.FEDERATED_CREDENTIAL_TYPE},
                    {"field": "id", "contains": f"/userAssignedIdentities/{identity}/federatedIdentityCredentials/"},
                    {"anyOf": [
                        {"field": f"{ALIAS}/issuer", "notIn": [c.oidc_issuer for c in policy.azure.clusters]},
                        {"field": f"{ALIAS}/subject", "notEquals": policy.selector.subject},
                        {"not": {"field": f"{ALIAS}/audiences[*]", "equals": azure_common.AUDIENCE}}]}]},
                "then": {"effect": "[parameters('effect')]"}}
        doc = {"name": f"weft-{policy.name}-federation",
               "properties": {
                   "displayName": f"weft {policy.name}: only {policy.selector.namespace}/"
                                  f"{policy.selector.service_account} may federate to {identity}",
                   "description": f"From weft AgentPolicy {policy.name}: federated credentials on {identity} must "
                                  "trust a selected AKS cluster's issuer for the agent's service account.",
                   "policyType": "Custom", "mode": "All",
                   "metadata": {"category": "Managed Identity", "weft.dev/policy": policy.name},
                   "parameters": {"effect": {"type": "String", "allowedValues": ["Audit", "Deny", "Disabled"],
                                             "defaultValue": self.effect[policy.mode],
                                             "metadata": {"displayName": "Effect"}}},
                   "policyRule": rule}}
        return Output([doc], ["spec.selector.serviceAccount", "spec.selector.clusters", "spec.mode"], [],
                      ["az policy definition create --rules <properties.policyRule> --params "
                       "<properties.parameters> --mode All; assign it where the identity lives"])
