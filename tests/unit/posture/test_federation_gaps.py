"""Federation gaps: each kind — a trust that admits a wildcard or namespace-wide subject,
a pool that trusts a whole AWS account, an audience left open, a federated credential no
workload uses — is found in a declaration that has it and not in one that does not. The
lab's own declarations have none."""
from __future__ import annotations

from posture_lab import AGENT, DATA, GAPS, ISSUER, ISSUERS, ROLE, analyse_lab, lab

from weft.posture.core.findings import analyse
from weft.posture.core.findings.model import Kind, Severity
from weft.posture.core.load import load_files

FEDERATION = (Kind.WILDCARD_SUBJECT, Kind.ACCOUNT_WIDE_POOL, Kind.OPEN_AUDIENCE, Kind.UNUSED_CREDENTIAL)


def _gaps(*paths, agents=(), issuers=ISSUERS):
    loaded = load_files(list(paths))
    assert loaded.errors == []
    posture = analyse(list(agents), loaded.declarations, loaded.observations, cluster_issuers=issuers)
    return [f for f in posture.findings if f.kind in FEDERATION]


def _kinds(findings):
    return sorted((f.kind.value, f.severity.value) for f in findings)


def test_the_lab_declarations_have_no_federation_gap():
    assert [f for f in analyse_lab().findings if f.kind in FEDERATION] == []


def test_a_trust_with_no_subject_condition_admits_every_pod_and_any_audience():
    found = _gaps(GAPS / "aws-iam-trust-any-subject.json")
    assert _kinds(found) == [("federation_open_audience", "medium"), ("federation_wildcard_subject", "high")]
    wildcard = next(f for f in found if f.kind is Kind.WILDCARD_SUBJECT)
    assert wildcard.details["scope"] == "every subject"
    assert wildcard.subject.endswith("aws-iam-trust-any-subject.json:1#AnyPodOfTheCluster")
    audience = next(f for f in found if f.kind is Kind.OPEN_AUDIENCE)
    [fixed] = audience.fix.documents
    assert fixed["Statement"][0]["Condition"] == {"StringEquals": {
        "oidc.eks.us-west-2.amazonaws.com/id/5C7A1E2B9D4F6A8C3E0B7D1F2A4C6E8B:aud": "sts.amazonaws.com"}}


def test_a_namespace_wide_trust_is_found_and_its_fix_names_the_account_that_uses_it():
    assert _kinds(_gaps(DATA / "declarations" / "aws-iam-trust-namespace-wide.json")) == [
        ("federation_wildcard_subject", "medium")]
    declarations = [d for d in lab().declarations if not (type(d).__name__ == "AwsRole" and d.arn == ROLE)]
    wide = load_files([GAPS / "aws-iam-role-support-bot-namespace-wide.json"]).declarations
    posture = analyse([AGENT], declarations + wide, lab().observations, cluster_issuers=ISSUERS)
    [finding] = [f for f in posture.findings if f.kind in FEDERATION]
    assert (finding.kind, finding.severity, finding.agent) == (Kind.WILDCARD_SUBJECT, Severity.MEDIUM,
                                                              "agents/support-bot")
    assert finding.chain == posture.chains[0].chain.id
    assert finding.details["subjects"] == ["system:serviceaccount:agents:*"]
    [trust] = finding.fix.documents
    issuer = ISSUER.removeprefix("https://")
    assert trust["Statement"][0]["Condition"] == {"StringEquals": {
        f"{issuer}:aud": "sts.amazonaws.com", f"{issuer}:sub": "system:serviceaccount:agents:support-bot"}}


def test_the_lab_trust_names_one_service_account_and_the_sts_audience():
    assert _gaps(DATA / "lab" / "aws-iam-role-support-bot.json") == []


def test_a_pool_that_trusts_a_whole_aws_account_is_found_and_a_conditioned_one_is_not():
    found = _gaps(DATA / "declarations" / "gcp-wif-provider-aws.json", DATA / "declarations" / "gcp-iam-policy.json",
                  DATA / "auditlogs" / "gcp-audit-workload-identity.json")
    [pool] = [f for f in found if f.kind is Kind.ACCOUNT_WIDE_POOL]
    assert pool.severity is Severity.HIGH and pool.details["account"] == "111122223333"
    assert pool.details["rolesSeen"] == ["arn:aws:sts::111122223333:assumed-role/agents-retriever"]
    assert pool.fix.documents == ({
        "name": "projects/1234567890123/locations/global/workloadIdentityPools/aws-agents/providers/eks-prod",
        "attributeCondition": "assertion.arn.startsWith('arn:aws:sts::111122223333:assumed-role/agents-retriever/')"},)
    assert [f for f in _gaps(GAPS / "gcp-wif-provider-aws-conditioned.json") if f.kind is Kind.ACCOUNT_WIDE_POOL] == []


def test_bindings_to_a_namespace_a_cluster_or_a_whole_pool_are_found_and_one_principal_is_not():
    found = [f for f in _gaps(DATA / "declarations" / "gcp-iam-policy.json") if f.kind is Kind.WILDCARD_SUBJECT]
    assert sorted((f.details["scope"], f.severity.value) for f in found) == [
        ("every identity of the pool", "high"), ("every service account of a cluster", "high"),
        ("every service account of a namespace", "medium")]
    assert [f for f in _gaps(DATA / "lab" / "gcp-iam-policy-support-gcp.json") if f.kind is Kind.WILDCARD_SUBJECT] == []


def test_a_namespace_binding_used_by_an_agent_is_fixed_with_the_agent_principal():
    found = _gaps(DATA / "declarations" / "gcp-iam-policy.json", agents=[
        type(AGENT)("agents/indexer", type(AGENT.subject)("agents", "indexer", ""))], issuers=None)
    [namespace] = [f for f in found if f.details.get("scope") == "every service account of a namespace"]
    assert namespace.agent == "agents/indexer"
    [policy] = namespace.fix.documents
    assert policy["policy"]["bindings"] == [{"role": "roles/aiplatform.user", "members": [
        "principal://iam.googleapis.com/projects/1234567890123/locations/global/workloadIdentityPools/"
        "agents-gcp.svc.id.goog/subject/ns/agents/sa/indexer"]}]


def test_an_oidc_provider_that_accepts_the_aws_audience_is_found_and_the_lab_provider_is_not():
    [shared] = _gaps(GAPS / "gcp-wif-provider-shared-audience.json")
    assert (shared.kind, shared.severity) == (Kind.OPEN_AUDIENCE, Severity.MEDIUM)
    assert shared.fix.documents[0]["oidc"]["allowedAudiences"] == [
        "//iam.googleapis.com/projects/987654321098/locations/global/workloadIdentityPools/eks-agents/providers/"
        "eks-reuse-irsa-token"]
    assert _gaps(DATA / "lab" / "gcp-wif-provider-eks.json") == []


def test_a_federated_credential_with_another_cloud_audience_is_found_and_the_lab_credential_is_not():
    found = _gaps(GAPS / "azure-federated-credential-shared-audience.json", DATA / "lab" / "k8s-support-bot.yaml")
    assert _kinds(found) == [("federation_open_audience", "medium")]
    assert found[0].fix.documents[0]["properties"]["audiences"] == ["api://AzureADTokenExchange"]
    assert _gaps(DATA / "lab" / "azure-federated-credential-support-bot.json", DATA / "lab" / "k8s-support-bot.yaml") \
        == []


def test_a_federated_credential_no_workload_runs_as_is_found_and_one_the_agent_uses_is_not():
    found = _gaps(GAPS / "azure-federated-credential-unused.json", DATA / "lab" / "k8s-support-bot.yaml")
    assert _kinds(found) == [("federation_unused_credential", "medium")]
    assert found[0].details["subject"] == "system:serviceaccount:agents:legacy-bot"
    assert "DELETE /subscriptions/" in found[0].fix.summary
    assert _gaps(DATA / "lab" / "azure-federated-credential-support-bot.json", agents=[AGENT]) == []
    assert [f.kind for f in _gaps(DATA / "lab" / "azure-federated-credential-support-bot.json")] == [
        Kind.UNUSED_CREDENTIAL]                       # no workload nor agent runs as support-bot
