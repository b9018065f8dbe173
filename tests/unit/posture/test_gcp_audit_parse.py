"""GCP audit logs: STS token exchanges, IAM Credentials token mints, and data-access
calls with the permissions the log says were checked."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from weft.posture.core.auditlogs.model import ApiCall, GcpAccessTokenMint, GcpTokenExchange
from weft.posture.core.declarations.model import MemberScope
from weft.posture.core.load import load_bytes, load_files
from weft.posture.core.model import KubernetesSubject

AUDIT = "identity-logs/gcp-audit/"
POOLS = "projects/1234567890123/locations/global/workloadIdentityPools"


def test_token_exchanges_and_a_federated_data_access(load):
    azure, aws, failed, read = load("auditlogs/gcp-audit-workload-identity.json").observations
    assert isinstance(azure, GcpTokenExchange)
    assert (azure.pool, azure.provider_id, azure.subject, azure.principal.subject) == (
        "azure-pool", "azure", "b6112abb-5791-4507-adb5-7e8cc306eb2e", "a1234bcd-5678-9012-efa3-4b5cd678ef9a")
    assert (aws.provider, aws.subject, aws.subject_token_type, aws.source_ip) == (
        f"{POOLS}/aws-agents/providers/eks-prod",
        "arn:aws:sts::111122223333:assumed-role/agents-retriever/eks-agents-pro-retriever-3c0e8a52-9c1d-4f7b-a2d4-"
        "6e5f8b9c0d1e", "urn:ietf:params:aws:token-type:aws4_request", "198.51.100.23")
    assert (failed.success, failed.status_code, failed.principal) == (False, 3, None)
    assert isinstance(read, ApiCall)
    assert (read.service, read.action, read.account, read.resources) == (
        "storage.googleapis.com", "storage.objects.get", "agents-gcp",
        ("projects/_/buckets/agents-embeddings/objects/index/shard-0001.parquet",))
    assert read.principal.startswith("principal://iam.googleapis.com/") and read.time.tzinfo is not None


def test_a_federated_token_mint_is_also_a_call_on_the_service_account(fixtures_dir):
    result = load_files([fixtures_dir / AUDIT / "elastic-integrations/test-iamcredentials-googleapis-com.log"])
    mint, call = result.observations
    assert isinstance(mint, GcpAccessTokenMint)
    assert (mint.method, mint.service_account, mint.caller_member.kind, mint.delegation_chain) == (
        "GenerateAccessToken", "made-up-ci-account@project-id.iam.gserviceaccount.com", "principal",
        ("projects/-/serviceAccounts/made-up-ci-account@project-id.iam.gserviceaccount.com",))
    assert (call.action, call.principal, call.success) == ("iam.serviceAccounts.getAccessToken", mint.caller, True)
    assert mint.time == datetime(2024, 11, 19, 0, 49, 55, 293368, tzinfo=timezone.utc)


def test_the_gke_metadata_server_mint_in_panthers_spelling(fixtures_dir):
    path = fixtures_dir / AUDIT / ("panther-analysis/gcp_iam_service_accounts_get_access_token_privilege_escalation__"
                                   "principal-subject-used.json")
    mint, _ = load_files([path]).observations
    assert (mint.source_ip, mint.service_account, mint.caller_member) == (
        "gce-internal-ip", "xxxxx.iam.gserviceaccount.com", None)   # callerIP; a subject not in member syntax


def test_denied_calls_and_gke_audit_entries(fixtures_dir):
    denied = load_files([fixtures_dir / AUDIT / "panther-analysis/gcp_service_account_access_denied__service-account-"
                                                "access-denied-should-alert.json"])
    [call] = denied.observations
    assert (call.success, call.error_code, call.action, call.source_ip) == (
        False, "7", "iam.serviceAccounts.create", "12.12.12.12")
    exec_ = load_files([fixtures_dir / AUDIT / "panther-analysis/gcp_k8s_exec_into_pod__disallowed-user.json"])
    [call] = exec_.observations
    assert (call.service, call.action, call.principal) == (       # no serviceName in the export: k8s.io's
        "k8s.io", "io.k8s.core.v1.pods.exec.create", "disallowed.user@example.com")


def test_a_workload_identity_principal_in_a_token_exchange_is_parsed():
    entry = {"timestamp": "2025-03-04T09:31:40Z", "protoPayload": {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog", "serviceName": "sts.googleapis.com",
        "methodName": "google.identity.sts.v1.SecurityTokenService.ExchangeToken",
        "authenticationInfo": {"principalSubject": "system:serviceaccount:agents:indexer"},
        "request": {"audience": f"//iam.googleapis.com/{POOLS}/eks-oidc/providers/agents-prod"},
        "metadata": {"mapped_principal": f"principal://iam.googleapis.com/{POOLS}/eks-oidc/subject/"
                                         "system:serviceaccount:agents:indexer"}}}
    [exchange] = load_bytes(json.dumps(entry).encode(), "x.json").observations
    assert (exchange.provider, exchange.pool, exchange.principal.scope) == (   # provider from the audience
        f"{POOLS}/eks-oidc/providers/agents-prod", "eks-oidc", MemberScope.ONE)
    assert exchange.principal.kubernetes == KubernetesSubject("agents", "indexer")   # an EKS token's subject


def test_an_entry_without_a_method_is_an_error():
    entry = {"timestamp": "2025-03-04T09:31:40Z", "logName": "projects/p/logs/cloudaudit.googleapis.com%2Fdata_access",
             "protoPayload": {"serviceName": "storage.googleapis.com"}}
    [error] = load_bytes(json.dumps(entry).encode(), "x.json").errors
    assert (error.path, error.expected) == ("/protoPayload/methodName", "a method name (a string)")


@pytest.mark.parametrize("method, checks, actions", [
    ("storage.objects.get", [], ("storage.objects.get",)),             # named like its permission
    ("v1.compute.instances.start", [], ("compute.instances.start",)),
    ("google.iam.admin.v1.CreateServiceAccount", [], ()),               # not derivable
    ("google.iam.admin.v1.CreateServiceAccount", [{"permission": "iam.serviceAccounts.create", "granted": True}],
     ("iam.serviceAccounts.create",)),                                  # the log says which
])
def test_permissions_of_a_call(method, checks, actions):
    entry = {"timestamp": "2025-03-04T09:31:40Z", "protoPayload": {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog", "methodName": method,
        "authenticationInfo": {"principalEmail": "app@p.iam.gserviceaccount.com"}, "authorizationInfo": checks}}
    [call] = load_bytes(json.dumps(entry).encode(), "x.json").observations
    assert call.actions == actions
