"""Entra sign-ins (service principals, managed identities) and directory audit entries."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from weft.posture.core.auditlogs.model import AzureDirectoryChange, AzureSignIn
from weft.posture.core.load import load_bytes, load_files

SIGNIN = "identity-logs/azure-signin/"


def test_workload_identity_sign_ins(load):
    federated, managed, failed = load("auditlogs/entra-workload-identity-sign-ins.jsonl").observations
    assert (federated.app_id, federated.service_principal_id, federated.credential_type,
            federated.federated_credential_id, federated.resource_name, federated.managed_identity,
            federated.success) == (
        "5a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d", "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a", "federatedIdentityCredential",
        "3c4d5e6f-7a8b-4c9d-0e1f-2a3b4c5d6e7f", "Azure Storage", False, True)
    assert (managed.managed_identity, managed.managed_identity_type, managed.resource_name) == (
        True, "userAssigned", "Azure Key Vault")
    assert (failed.success, failed.status_code, failed.failure_reason) == (
        False, 700213, "No matching federated identity record found for presented assertion subject.")


def test_real_managed_identity_and_service_principal_sign_ins(fixtures_dir):
    managed = load_files([fixtures_dir / SIGNIN / "elastic-integrations/test-managed-identity-sample.first3lines.log"])
    seen = [(s.category, s.managed_identity, s.service_principal_name, s.resource_id) for s in managed.observations]
    assert seen == [
        ("ManagedIdentitySignInLogs", True, "testplatformlogslube", "797f4846-ba00-4fd7-ba43-dac1f8f63013"),
        ("ManagedIdentitySignInLogs", True, "testplatformlogslube", "797f4846-ba00-4fd7-ba43-dac1f8f63013"),
        ("ManagedIdentitySignInLogs", True, "test-vidhi-aks", "797f4846-ba00-4fd7-ba43-dac1f8f63013")]
    assert managed.observations[0].time == datetime(2022, 1, 24, 4, 59, 49, 227983, tzinfo=timezone.utc)
    expired = load_files([fixtures_dir / SIGNIN / "elastic-integrations/test-service-principal.log"])
    [sign_in] = expired.observations
    assert (sign_in.success, sign_in.status_code, sign_in.source_ip, sign_in.app_id) == (
        False, 7000222, "11.22.33.44", "22222222-ddf2-4ab6-b25f-f23d5d614338")


def test_panther_re_cased_envelopes_read_alike(fixtures_dir):
    result = load_files([fixtures_dir / SIGNIN / "panther-analysis/azure_failed_signins__failed-sign-in.json"])
    [sign_in] = result.observations
    assert isinstance(sign_in, AzureSignIn)
    assert (sign_in.tenant_id, sign_in.status_code, sign_in.resource_service_principal_id) == (
        "a2aa49aa-2c0c-49d2-af87-f402c421df0b", 7000215, "a225221f-8cc5-411a-9cc7-5e1394b8a5b8")
    assert sign_in.time == datetime(2023, 7, 26, 22, 58, 30, 983201, tzinfo=timezone.utc)   # no zone: UTC


def test_a_directory_audit_entry(fixtures_dir):
    path = fixtures_dir / SIGNIN / ("panther-analysis/azure_service_principal_credentials_added__"
                                    "add-service-principal-credentials.json")
    [change] = load_files([path]).observations
    assert isinstance(change, AzureDirectoryChange)
    assert (change.operation, change.initiated_by, change.targets, change.success) == (
        "Add service principal credentials", "frodo@lotr.com",
        ("ServicePrincipal:sp-app-456 (Production API Service)",), True)


def test_categories_with_nothing_for_posture_are_skipped():
    record = {"time": "2025-03-04T09:00:00Z", "operationName": "Risky user", "category": "RiskyUsers",
              "properties": {"id": "x"}}
    result = load_bytes(json.dumps(record).encode(), "risky.json")
    assert result.observations == [] and result.errors == []
    assert [s.format for s in result.skipped] == ["entra"]


def test_a_sign_in_without_properties_is_an_error():
    record = {"time": "2025-03-04T09:00:00Z", "operationName": "Sign-in activity",
              "category": "ServicePrincipalSignInLogs"}
    [error] = load_bytes(json.dumps(record).encode(), "s.json").errors
    assert (error.path, error.found) == ("/properties", "nothing")
