"""Azure federated identity credentials, role definitions and role assignments, in the
ARM shape and in the az CLI's flattened shape."""
from __future__ import annotations

import json

import pytest

from weft.posture.core.declarations.model import AzurePermission
from weft.posture.core.load import load_bytes

SUB = "/subscriptions/00000000-1111-2222-3333-444444444444"
IDENTITY = f"{SUB}/resourceGroups/agents/providers/Microsoft.ManagedIdentity/userAssignedIdentities/agents-vault-reader"


@pytest.mark.parametrize("name, expected", [
    ("declarations/azure-federated-credential.json",
     [("aks-agents-summarizer", "https://westeurope.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/"
       "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d/", "system:serviceaccount:agents:summarizer")]),
    ("declarations/azure-federated-credentials-list.json",
     [("aks-agents-summarizer", "https://westeurope.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/"
       "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d/", "system:serviceaccount:agents:summarizer"),
      ("eks-agents-planner", "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
       "system:serviceaccount:agents:planner")]),
    ("declarations/azure-federated-credentials-cli.json",
     [("gke-agents-indexer", "https://container.googleapis.com/v1/projects/agents-gcp/locations/us-central1/"
       "clusters/agents", "system:serviceaccount:agents:indexer")]),
])
def test_federated_credentials_and_the_identity_they_belong_to(load, name, expected):
    credentials = load(name).declarations
    assert [(c.name, c.issuer, c.subject) for c in credentials] == expected
    assert {(c.identity_name, c.identity_id, c.audiences) for c in credentials} == {
        ("agents-vault-reader", IDENTITY, ("api://AzureADTokenExchange",))}


@pytest.mark.parametrize("record, parent", [
    ({"type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",   # ARM template
      "apiVersion": "2023-01-31", "name": "agents-mi/aks",
      "properties": {"issuer": "https://issuer.example", "subject": "s", "audiences": ["a"]}}, ("", "agents-mi")),
    ({"id": "0e9f8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f", "name": "github", "issuer": "https://token.actions."  # Graph
      "githubusercontent.com", "subject": "repo:o/r:ref:refs/heads/main", "audiences": ["api://AzureADTokenExchange"]},
     ("", "")),
])
def test_a_credential_names_its_parent_only_when_the_input_does(record, parent):
    [credential] = load_bytes(json.dumps(record).encode(), "f.json").declarations
    assert (credential.identity_id, credential.identity_name) == parent


def test_a_credential_without_audiences_is_an_error():
    record = {"type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
              "properties": {"issuer": "https://issuer.example", "subject": "s", "audiences": []}}
    [error] = load_bytes(json.dumps(record).encode(), "f.json").errors
    assert (error.path, error.expected, error.found) == ("/properties/audiences", "a non-empty list of audiences", "[]")


def test_role_definitions_builtin_and_custom(load):
    [builtin] = load("declarations/azure-role-definition.json").declarations
    assert (builtin.guid, builtin.role_name, builtin.role_type, builtin.assignable_scopes) == (
        "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "Storage Blob Data Reader", "BuiltInRole", ("/",))
    assert builtin.permissions == (AzurePermission(
        actions=("Microsoft.Storage/storageAccounts/blobServices/containers/read",
                 "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"),
        data_actions=("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",)),)
    [custom] = load("declarations/azure-role-definitions-cli.json").declarations
    assert (custom.role_name, custom.role_type) == ("Agents Secret Reader", "CustomRole")
    assert custom.permissions == (AzurePermission(data_actions=("Microsoft.KeyVault/vaults/secrets/*",),
                                                  not_data_actions=("Microsoft.KeyVault/vaults/secrets/delete",)),)


def test_role_assignments_arm_and_cli(load):
    [arm] = load("declarations/azure-role-assignment.json").declarations
    assert (arm.scope, arm.principal_id, arm.principal_type, arm.role_definition_guid, arm.role_definition_name) == (
        f"{SUB}/resourceGroups/agents/providers/Microsoft.Storage/storageAccounts/agentsdocs",
        "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a", "ServicePrincipal", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "")
    [cli] = load("declarations/azure-role-assignments-cli.json").declarations
    assert (cli.scope, cli.role_definition_guid, cli.role_definition_name) == (
        f"{SUB}/resourceGroups/agents/providers/Microsoft.KeyVault/vaults/agents-kv",
        "6b8f1d7e-2c3a-4b5d-9e0f-1a2b3c4d5e6f", "Agents Secret Reader")


def test_an_assignment_without_a_scope_property_takes_it_from_its_id():
    record = {"id": f"{SUB}/providers/Microsoft.Authorization/roleAssignments/3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a",
              "type": "Microsoft.Authorization/roleAssignments",
              "properties": {"principalId": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
                             "roleDefinitionId": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/"
                                                 "acdd72a7-3385-48ef-bd42-f606fba81ae7"}}
    [assignment] = load_bytes(json.dumps(record).encode(), "a.json").declarations
    assert (assignment.scope, assignment.role_definition_guid) == (SUB, "acdd72a7-3385-48ef-bd42-f606fba81ae7")


def test_an_assignment_to_a_non_guid_principal_is_an_error():
    record = {"type": "Microsoft.Authorization/roleAssignments",
              "properties": {"principalId": "agents-vault-reader", "scope": SUB,
                             "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/x"}}
    [error] = load_bytes(json.dumps(record).encode(), "a.json").errors
    assert (error.path, error.found) == ("/properties/principalId", '"agents-vault-reader"')
