"""GCP IAM policies (bindings with parsed members and conditions) and workload identity
pool providers."""
from __future__ import annotations

import pytest

from weft.posture.core.declarations.gcp_members import parse_member
from weft.posture.core.declarations.model import GcpCondition, MemberScope
from weft.posture.core.load import load_bytes
from weft.posture.core.model import KubernetesSubject

POOLS = "iam.googleapis.com/projects/1234567890123/locations/global/workloadIdentityPools"


def test_bindings_of_a_policy(load):
    bindings = load("declarations/gcp-iam-policy.json").declarations
    assert [(b.resource, b.role, len(b.members)) for b in bindings] == [
        ("", "roles/storage.objectViewer", 2), ("", "roles/aiplatform.user", 1), ("", "roles/storage.objectAdmin", 1),
        ("", "roles/viewer", 5), ("", "roles/browser", 2)]
    assert bindings[2].condition == GcpCondition(
        'resource.name.startsWith("projects/_/buckets/agents-embeddings")', "embeddings only",
        "Only the embeddings bucket")
    assert [b.condition for b in bindings].count(None) == 4


def test_a_search_result_says_which_resource_the_policy_is_on(load):
    [binding] = load("declarations/gcp-iam-search-result.json").declarations
    assert binding.resource == ("//iam.googleapis.com/projects/agents-gcp/serviceAccounts/"
                                "agents-indexer@agents-gcp.iam.gserviceaccount.com")
    [member] = binding.members
    assert (member.kubernetes, member.pool) == (KubernetesSubject("agents", "indexer"), "agents-gcp.svc.id.goog")


@pytest.mark.parametrize("raw, expected", [
    (f"principal://{POOLS}/agents-gcp.svc.id.goog/subject/ns/agents/sa/indexer",
     dict(kind="principal", scope=MemberScope.ONE, project_number="1234567890123", pool="agents-gcp.svc.id.goog",
          subject="ns/agents/sa/indexer", kubernetes=KubernetesSubject("agents", "indexer"))),
    (f"principalSet://{POOLS}/agents-gcp.svc.id.goog/namespace/agents",
     dict(kind="principalSet", scope=MemberScope.NAMESPACE, namespace="agents")),
    (f"principalSet://{POOLS}/agents-gcp.svc.id.goog/kubernetes.cluster/https://container.googleapis.com/v1/projects/"
     "p/locations/l/clusters/c",
     dict(scope=MemberScope.CLUSTER, attribute="kubernetes.cluster=https://container.googleapis.com/v1/projects/p/"
                                               "locations/l/clusters/c")),
    (f"principalSet://{POOLS}/eks-oidc/*", dict(scope=MemberScope.POOL, pool="eks-oidc")),
    (f"principalSet://{POOLS}/aws-agents/attribute.aws_role/arn:aws:sts::111122223333:assumed-role/r",
     dict(scope=MemberScope.GROUP, attribute="aws_role=arn:aws:sts::111122223333:assumed-role/r")),
    (f"principalSet://{POOLS}/ci/group/deployers", dict(scope=MemberScope.GROUP, attribute="group=deployers")),
    (f"principal://{POOLS}/aws-agents/subject/arn:aws:sts::111122223333:assumed-role/r",   # a federated subject
     dict(scope=MemberScope.ONE, subject="arn:aws:sts::111122223333:assumed-role/r", kubernetes=None)),
    ("principal://iam.googleapis.com/locations/global/workforcePools/staff/subject/alice",
     dict(scope=MemberScope.ONE, pool="staff", project_number="", subject="alice")),
    ("serviceAccount:agents-gcp.svc.id.goog[agents/indexer]",
     dict(kind="serviceAccount", kubernetes=KubernetesSubject("agents", "indexer"),
          email="agents-gcp.svc.id.goog[agents/indexer]")),
    ("serviceAccount:app@p.iam.gserviceaccount.com",
     dict(scope=MemberScope.ONE, email="app@p.iam.gserviceaccount.com")),
    ("group:oncall@example.com", dict(scope=MemberScope.GROUP, email="oncall@example.com")),
    ("domain:example.com", dict(scope=MemberScope.DOMAIN)),
    ("allUsers", dict(scope=MemberScope.PUBLIC)),
    ("allAuthenticatedUsers", dict(scope=MemberScope.PUBLIC)),
    ("projectEditor:agents-gcp", dict(scope=MemberScope.PROJECT_ROLE)),
    ("deleted:serviceAccount:old@p.iam.gserviceaccount.com?uid=123", dict(deleted=True, kind="serviceAccount",
                                                                        email="old@p.iam.gserviceaccount.com")),
])
def test_members(raw, expected):
    member = parse_member(raw)
    assert member is not None and member.raw == raw
    assert {k: getattr(member, k) for k in expected} == expected


@pytest.mark.parametrize("raw", ["alice@example.com", "user:", "robot:x", "deleted:nobody"])
def test_what_is_not_a_member(raw):
    assert parse_member(raw) is None


def test_providers_aws_and_oidc(load):
    [aws] = load("declarations/gcp-wif-provider-aws.json").declarations
    assert (aws.project_number, aws.pool, aws.provider_id, aws.protocol, aws.aws_account_id,
            aws.attribute_condition) == (
        "1234567890123", "aws-agents", "eks-prod", "aws", "111122223333", "")   # trusts the whole account
    assert aws.attribute_mapping["google.subject"] == "assertion.arn"
    [oidc] = load("declarations/gcp-wif-provider-oidc.json").declarations
    assert (oidc.protocol, oidc.issuer_uri, oidc.allowed_audiences, oidc.attribute_condition) == (
        "oidc", "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE", ("sts.googleapis.com",),
        "assertion['kubernetes.io']['namespace'] == 'agents'")


def test_a_provider_without_google_subject_is_an_error():
    record = b'{"attributeMapping": {"attribute.x": "assertion.x"}, "aws": {"accountId": "111122223333"}}'
    [error] = load_bytes(record, "p.json").errors
    assert (error.path, error.expected, error.found) == (
        "/attributeMapping/google.subject", "a google.subject mapping (a CEL expression such as assertion.sub)",
        "nothing")
