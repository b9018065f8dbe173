"""Federated identity credentials on the agent's managed identity: one per selected AKS
cluster, trusting that cluster's OIDC issuer for the agent's service account token with
the token-exchange audience, so workload identity gives the pod that identity only."""
from __future__ import annotations

from weft.enforce.core import ir
from weft.enforce.compilers import azure_common
from weft.enforce.compilers.base import Compiler, Output, no_audit_mode, register


@register("azure_federated")
class AzureFederatedCompiler(Compiler):
    description = "Azure federated identity credentials (AKS workload identity) on the agent's identity"
    file_format = "json"
    schema = "azure/federated-credential"
    parameters = azure_common.FEDERATION_PARAMETERS
    api_version = "2024-11-30"

    def compile(self, policy: ir.Policy) -> Output:
        identity = policy.azure.identity_name
        docs = [{"type": azure_common.FEDERATED_CREDENTIAL_TYPE, "apiVersion": self.api_version,
                 # a child resource at the top of a template is named parent/child; the
                 # template schema takes that only as an expression
                 "name": f"[format('{{0}}/{{1}}', '{identity}', '{azure_common.credential_name(c.name)}')]",
                 "properties": {"issuer": c.oidc_issuer, "subject": policy.selector.subject,
                                "audiences": [azure_common.AUDIENCE]}}
                for c in policy.azure.clusters]
        return Output(docs, ["spec.selector.serviceAccount", "spec.selector.clusters"],
                      no_audit_mode(policy, "A federated identity credential"),
                      [f"deploy in the resource group of identity {identity}; pods need the label "
                       "azure.workload.identity/use: \"true\" and the service account annotation "
                       "azure.workload.identity/client-id"])
