"""What the Azure targets share: the token exchange audience AKS workload identity uses,
and the parameters every federation-based target needs."""
from __future__ import annotations

AUDIENCE = "api://AzureADTokenExchange"
FEDERATED_CREDENTIAL_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"

FEDERATION_PARAMETERS = {
    "type": "object", "required": ["azure", "selector"],
    "properties": {
        "selector": {"type": "object", "required": ["serviceAccount"],
                     "properties": {"serviceAccount": {"description": "spec.selector.serviceAccount"}}},
        "azure": {"type": "object", "required": ["identityName", "clusters"],
                  "description": "spec.cloud.azure or an azure cluster in spec.clusters",
                  "properties": {
                      "identityName": {"description": "spec.cloud.azure.identityName (the agent's user-assigned "
                                                      "managed identity)"},
                      "clusters": {"type": "array", "minItems": 1, "description": "an azure cluster in spec.clusters",
                                   "items": {"type": "object", "required": ["oidcIssuer"],
                                             "properties": {"oidcIssuer": {
                                                 "description": "oidcIssuer on each selected azure cluster "
                                                                "(az aks show --query oidcIssuerProfile.issuerUrl)"}}}}}}}}


def credential_name(cluster_name: str) -> str:
    return f"weft-{cluster_name}".replace(".", "-")[:120]
