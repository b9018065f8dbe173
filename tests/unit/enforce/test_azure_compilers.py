"""Azure: custom roles per scope set, federated credentials per AKS cluster, and the
Azure Policy definition guarding the identity's federation."""
from __future__ import annotations

from enforce_intents import policy
from weft.enforce.compilers.azure_federated import AzureFederatedCompiler
from weft.enforce.compilers.azure_policy import AzurePolicyCompiler
from weft.enforce.compilers.azure_role import AzureRoleCompiler

SUB = "/subscriptions/00000000-1111-2222-3333-444444444444"
ISSUER = "https://eastus.oic.prod-aks.azure.com/tenant/cluster/"
AKS = [{"name": "aks-prod", "provider": "azure", "oidcIssuer": ISSUER}]
FIC = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"


def test_azure_roles_group_grants_by_scope():
    out = AzureRoleCompiler().compile(policy(cloud={"azure": {"allow": [
        {"actions": ["Microsoft.Storage/storageAccounts/read"], "scopes": [f"{SUB}/resourceGroups/rg1"]},
        {"dataActions": ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
         "scopes": [f"{SUB}/resourceGroups/rg1"]},
        {"actions": ["Microsoft.KeyVault/vaults/read"], "scopes": [SUB]}]}}))
    assert [d["properties"] for d in out.documents] == [
        {"roleName": "weft-bot", "description": "weft AgentPolicy bot", "type": "CustomRole",
         "permissions": [{"actions": ["Microsoft.Storage/storageAccounts/read"], "notActions": [],
                          "dataActions": ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
                          "notDataActions": []}],
         "assignableScopes": [f"{SUB}/resourceGroups/rg1"]},
        {"roleName": "weft-bot-1", "description": "weft AgentPolicy bot", "type": "CustomRole",
         "permissions": [{"actions": ["Microsoft.KeyVault/vaults/read"], "notActions": [], "dataActions": [],
                          "notDataActions": []}],
         "assignableScopes": [SUB]}]
    assert {d["type"] for d in out.documents} == {"Microsoft.Authorization/roleDefinitions"}
    assert len({d["name"] for d in out.documents}) == 2


def test_federated_credential_per_aks_cluster():
    out = AzureFederatedCompiler().compile(policy(clusters=AKS, cloud={"azure": {"identityName": "bot-id"}}))
    assert out.documents == [{"type": FIC, "apiVersion": "2024-11-30",
                              "name": "[format('{0}/{1}', 'bot-id', 'weft-aks-prod')]",
                              "properties": {"issuer": ISSUER, "subject": "system:serviceaccount:agents:bot-sa",
                                             "audiences": ["api://AzureADTokenExchange"]}}]


def test_federation_targets_name_the_missing_identity():
    assert AzureFederatedCompiler().missing(policy(clusters=AKS)) == [
        "needs spec.cloud.azure.identityName (the agent's user-assigned managed identity)"]


def test_azure_policy_denies_other_federations_in_enforce_and_audits_otherwise():
    for mode, effect in (("enforce", "Deny"), ("audit", "Audit")):
        out = AzurePolicyCompiler().compile(policy(mode=mode, clusters=AKS, cloud={"azure": {"identityName": "bot-id"}}))
        props = out.documents[0]["properties"]
        assert props["parameters"]["effect"]["defaultValue"] == effect
        assert props["policyRule"] == {"if": {"allOf": [
            {"field": "type", "equals": FIC},
            {"field": "id", "contains": "/userAssignedIdentities/bot-id/federatedIdentityCredentials/"},
            {"anyOf": [{"field": f"{FIC}/issuer", "notIn": [ISSUER]},
                       {"field": f"{FIC}/subject", "notEquals": "system:serviceaccount:agents:bot-sa"},
                       {"not": {"field": f"{FIC}/audiences[*]", "equals": "api://AzureADTokenExchange"}}]}]},
            "then": {"effect": "[parameters('effect')]"}}
