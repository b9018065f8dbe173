"""Recognising records by content: every shared fixture, envelopes, broken input."""
from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path

import pytest

from weft.common import subjects
from weft.discovery.core import registry
from weft.discovery.core.recognise import FORMATS, InputTooLarge, UnknownFormat, recognise

GD = "provider-findings/aws-guardduty/"
SCC = "provider-findings/gcp-scc/"
CT = "identity-logs/aws-cloudtrail/"
ENTRA = "identity-logs/azure-signin/"
GCP = "identity-logs/gcp-audit/"
TETRAGON = "runtime-exports/tetragon/security-observability-with-ebpf/"
FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures"   # as tests/conftest.py
TETRAGON_FILES = [p.relative_to(FIXTURES).as_posix() for p in sorted((FIXTURES / TETRAGON).rglob("*.json"))]

# Every file under provider-findings, identity-logs and runtime-exports: (format, records).
EXPECTED = {
    GD + "elastic-integrations/test-guardduty.log": ("guardduty", 5),   # + an empty {"findings": []}
    GD + "panther-analysis/aws_guardduty_critical_sev_findings__critical-sev-finding.json": ("guardduty", 1),
    GD + "panther-analysis/aws_guardduty_critical_sev_findings__critical-sev-finding-as-sample-data.json":
        ("guardduty", 1),
    "provider-findings/azure-defender/elastic-integrations/test-alert.log": ("defender", 5),
    SCC + "elastic-integrations/test-finding.log": ("scc", 1),          # + an empty listFindings
    SCC + "demisto-content/list_finding_v2_response.json": ("scc", 1),
    CT + "elastic-integrations/test-assume-role-aws-service-json.log": ("cloudtrail", 1),
    CT + "elastic-integrations/test-assume-role-json.log": ("cloudtrail", 2),
    CT + "panther-analysis/aws_imds_credential_exfiltration__imds-credentials-used-from-public-ip.json":
        ("cloudtrail", 1),
    CT + "panther-analysis/aws_imds_credential_exfiltration__normal-ec2-workload-from-private-ip.json":
        ("cloudtrail", 1),
    CT + "panther-analysis/aws_vpce_external_principal__same-account-access.json": ("cloudtrail", 1),
    CT + "panther-analysis/role_assumed_by_aws_service__role-assumed-by-aws-service.json": ("cloudtrail", 1),
    ENTRA + "elastic-integrations/test-managed-identity-sample.first3lines.log": ("entra", 3),
    ENTRA + "elastic-integrations/test-service-principal.log": ("entra", 1),
    ENTRA + "panther-analysis/azure_failed_signins__failed-sign-in.json": ("entra", 1),
    ENTRA + "panther-analysis/azure_failed_signins__successful-sign-in.json": ("entra", 1),
    ENTRA + "panther-analysis/azure_service_principal_credentials_added__add-service-principal-credentials.json":
        ("entra", 1),
    GCP + "elastic-integrations/test-iamcredentials-googleapis-com.log": ("gcp_audit", 1),
    GCP + "elastic-integrations/test-k8s-nonmatching-resourcename.log": ("gcp_audit", 1),
    GCP + "panther-analysis/gcp_iam_service_accounts_get_access_token_privilege_escalation__"
          "iam-serviceaccounts-getaccesstoken-granted.json": ("gcp_audit", 1),
    GCP + "panther-analysis/gcp_iam_service_accounts_get_access_token_privilege_escalation__"
          "principal-subject-used.json": ("gcp_audit", 1),
    GCP + "panther-analysis/gcp_k8s_exec_into_pod__disallowed-user.json": ("gcp_audit", 1),
    GCP + "panther-analysis/gcp_service_account_access_denied__service-account-access-denied-should-alert.json":
        ("gcp_audit", 1),
    GCP + "panther-analysis/gcp_service_account_or_keys_created__created-service-account-key.json":
        ("gcp_audit", 1),
    GCP + "panther-analysis/gcp_workload_identity_pool_created_or_updated__"
          "createworkloadidentitypoolprovider-true.json": ("gcp_audit", 1),
    "runtime-exports/falco/elastic-integrations/test-falco.log": ("falco", 19),
    "runtime-exports/tetragon/testdata/events.json": ("tetragon", 3),
    **{path: ("tetragon", 1) for path in TETRAGON_FILES},
}
SUBJECT = {"guardduty": subjects.signals("aws"), "defender": subjects.signals("azure"),
           "scc": subjects.signals("gcp"), "falco": subjects.signals("falco"),
           "tetragon": subjects.signals("tetragon"), "cloudtrail": subjects.audit("aws"),
           "entra": subjects.audit("azure"), "gcp_audit": subjects.audit("gcp")}


def test_the_table_covers_every_fixture(fixtures_dir):
    files = {p.relative_to(fixtures_dir).as_posix()
             for d in ("provider-findings", "identity-logs", "runtime-exports")
             for p in (fixtures_dir / d).rglob("*") if p.is_file()}
    assert len(TETRAGON_FILES) == 40
    assert files == set(EXPECTED)


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_every_fixture_record_gets_its_format(fixtures_dir, path):
    fmt, count = EXPECTED[path]
    result = recognise((fixtures_dir / path).read_bytes(), Path(path).name)
    assert result.problems == []
    assert Counter(r.format for r in result.records) == {fmt: count}
    assert {r.subject for r in result.records} == {SUBJECT[fmt]}
    assert {r.kind for r in result.records} == {"audit" if fmt in ("cloudtrail", "entra", "gcp_audit") else "signal"}


def test_lines_keep_their_exact_bytes_and_line_numbers(fixtures_dir):
    data = (fixtures_dir / "runtime-exports/falco/elastic-integrations/test-falco.log").read_bytes()
    result = recognise(data, "falco.log")
    lines = [ln for ln in data.split(b"\n") if ln.strip()]
    assert [r.data for r in result.records] == lines
    assert [r.location for r in result.records] == [f"falco.log:{i}" for i in range(1, 20)]
    pretty = fixtures_dir / TETRAGON / "00_four_golden_signals/process_exec.json"
    [record] = recognise(pretty.read_bytes(), "exec.json").records
    assert record.data == pretty.read_bytes().strip() and record.location == "exec.json:1"


def _lines(fixtures_dir, path):
    return [ln for ln in (fixtures_dir / path).read_bytes().split(b"\n") if ln.strip()]


def test_envelopes_unwrap_to_their_records(fixtures_dir):
    findings = [json.loads(ln) for ln in _lines(fixtures_dir, GD + "elastic-integrations/test-guardduty.log")[:5]]
    eventbridge = {"version": "0", "id": "e1", "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
                   "account": "123412341234", "time": "2024-01-01T00:00:00Z", "region": "us-east-1",
                   "resources": [], "detail": findings[1]}
    scc_line = _lines(fixtures_dir, SCC + "elastic-integrations/test-finding.log")[0]
    notification = {"notificationConfigName": "organizations/1/notificationConfigs/weft", **json.loads(scc_line)}
    push = {"message": {"data": base64.b64encode(json.dumps(notification).encode()).decode(),
                        "messageId": "1", "publishTime": "2024-01-01T00:00:00Z"},
            "subscription": "projects/p/subscriptions/weft"}
    trail = {"Records": [json.loads(ln) for ln in _lines(fixtures_dir, CT + "elastic-integrations/test-assume-role-json.log")]}
    cases = [
        (eventbridge, ["guardduty"], ["in.json:1#/detail"]),
        ({"findings": findings}, ["guardduty"] * 5, [f"in.json:1#/findings/{i}" for i in range(5)]),
        (findings[:2], ["guardduty"] * 2, ["in.json:1#/0", "in.json:1#/1"]),
        ([eventbridge, eventbridge], ["guardduty"] * 2, ["in.json:1#/0/detail", "in.json:1#/1/detail"]),
        (push, ["scc"], ["in.json:1#/message/data"]),
        (trail, ["cloudtrail"] * 2, ["in.json:1#/Records/0", "in.json:1#/Records/1"]),
        ({"findings": []}, [], []),
    ]
    for envelope, formats, locations in cases:
        result = recognise(json.dumps(envelope, indent=2).encode(), "in.json")
        assert result.problems == []
        assert [r.format for r in result.records] == formats
        assert [r.location for r in result.records] == locations
    [detail] = recognise(json.dumps(eventbridge).encode(), "in.json").records
    assert json.loads(detail.data) == findings[1]
    [decoded] = recognise(json.dumps(push).encode(), "in.json").records
    assert json.loads(decoded.data) == notification


def test_a_truncated_line_is_one_problem_and_the_rest_still_loads(fixtures_dir):
    lines = _lines(fixtures_dir, "runtime-exports/falco/elastic-integrations/test-falco.log")
    lines[6] = lines[6][:120]
    result = recognise(b"\n".join(lines), "falco.log")
    assert len(result.records) == 18 and {r.format for r in result.records} == {"falco"}
    [problem] = result.problems
    assert problem.location == "falco.log:7"
    assert problem.reason.startswith("invalid JSON: ") and "column" in problem.reason
    assert problem.data == lines[6]


def test_a_broken_value_among_pretty_printed_ones_is_skipped(fixtures_dir):
    exec_ = (fixtures_dir / TETRAGON / "00_four_golden_signals/process_exec.json").read_bytes().strip()
    exit_ = (fixtures_dir / TETRAGON / "00_four_golden_signals/process_exit.json").read_bytes().strip()
    broken = exec_[: len(exec_) // 2]
    result = recognise(b"\n".join([exec_, broken, exit_]), "t.json")
    assert [r.data for r in result.records] == [exec_, exit_]
    [problem] = result.problems
    assert problem.location == f"t.json:{len(exec_.splitlines()) + 1}"


def test_an_unknown_object_names_the_keys_it_has():
    result = recognise(b'{"zeta": 1, "alpha": {"x": 2}}\n[1]\n', "odd.json")
    assert result.records == []
    assert [(p.location, p.reason) for p in result.problems] == [
        ("odd.json:1", "unrecognised record (keys: alpha, zeta)"),
        ("odd.json:2#/0", "unrecognised record: a number, not an object")]


def test_a_forced_format_skips_recognition():
    result = recognise(b'{"anything": 1}\n{"rule": "x"}\n', "x.log", forced="falco")
    assert [(r.format, r.subject) for r in result.records] == [("falco", subjects.signals("falco"))] * 2
    with pytest.raises(UnknownFormat, match="known formats: aws_iam"):
        recognise(b"{}", "x", forced="nope")


MANIFESTS = b"""\
# a service account and its workload
apiVersion: v1
kind: ServiceAccount
metadata:
  name: support-bot
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::111111111111:role/bot
    created: 2024-01-01T00:00:00Z
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: support-bot
spec: {}
---
apiVersion: v1
kind: List
items:
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: deny}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: other}
...
"""


def test_yaml_documents_load_one_by_one():
    result = recognise(MANIFESTS, "k8s.yaml")
    assert [(r.format, r.location, r.content_type) for r in result.records] == [
        ("kubernetes", "k8s.yaml:2", "application/yaml"),
        ("kubernetes", "k8s.yaml:15#/items/0", "application/json"),
        ("kubernetes", "k8s.yaml:15#/items/1", "application/json")]
    assert result.records[0].data.startswith(b"# a service account")
    assert json.loads(result.records[2].data) == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other"}}
    [problem] = result.problems
    assert problem.location == "k8s.yaml:10" and problem.reason.startswith("invalid YAML")
    assert all(r.subject == subjects.DECLARATIONS for r in result.records)


def test_items_of_a_typed_list_get_its_kind():
    pods = {"apiVersion": "v1", "kind": "PodList", "items": [{"metadata": {"name": "a"}}]}
    [record] = recognise(json.dumps(pods).encode(), "pods.json").records
    assert json.loads(record.data) == {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}


DECLARATIONS = {
    "aws_iam": [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                         "Resource": "*"}]},
                {"Role": {"RoleName": "bot", "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
                     "Action": ["sts:AssumeRole", "sts:TagSession"]}]}}}],
    "eks_pod_identity": [{"association": {"clusterName": "eks", "namespace": "agents", "serviceAccount": "bot",
                                          "roleArn": "arn:aws:iam::1:role/bot", "associationId": "a-1"}}],
    "azure_role": [{"id": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/r", "name": "r",
                    "type": "Microsoft.Authorization/roleDefinitions",
                    "properties": {"roleName": "Reader", "permissions": [{"actions": ["*/read"]}]}},
                   {"properties": {"principalId": "p", "roleDefinitionId": "/r", "scope": "/subscriptions/s"}}],
    "azure_federated_credential": [
        {"type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials", "name": "aks",
         "properties": {"issuer": "https://oidc.aks", "subject": "system:serviceaccount:agents:bot",
                        "audiences": ["api://AzureADTokenExchange"]}}],
    "gcp_iam": [{"version": 1, "etag": "x", "bindings": [{"role": "roles/storage.objectViewer",
                                                          "members": ["serviceAccount:bot@p.iam.gserviceaccount.com"]}]}],
    "gcp_wif_provider": [{"name": "projects/1/locations/global/workloadIdentityPools/eks/providers/eks",
                          "attributeMapping": {"google.subject": "assertion.sub"},
                          "oidc": {"issuerUri": "https://oidc.eks.amazonaws.com/id/X"}}],
}


@pytest.mark.parametrize("fmt", sorted(DECLARATIONS))
def test_declarations_are_recognised(fmt):
    for value in DECLARATIONS[fmt]:
        [record] = recognise(json.dumps(value).encode(), "d.json").records
        assert (record.format, record.kind, record.subject) == (fmt, "declaration", subjects.DECLARATIONS)


def test_weft_events_go_to_their_cluster():
    ev = {"eventId": "e1", "kind": "PROCESS_EXEC", "time": "2026-01-01T00:00:00Z"}
    result = recognise(b"\n".join(json.dumps(e).encode() for e in [{**ev, "node": {"cluster": "aks"}}, ev]),
                       "ev.jsonl", default_cluster="lab")
    assert [(r.format, r.kind, r.subject) for r in result.records] == [
        ("weft_event", "event", subjects.events("aks")), ("weft_event", "event", subjects.events("lab"))]


def test_limits():
    with pytest.raises(InputTooLarge, match="over the limit of 10 bytes"):
        recognise(b'{"a": "0123456789"}', "big.json", max_bytes=10)
    result = recognise(b'{"rule":1,"priority":2,"output":3,"time":4}\n' * 5, "f.log", max_records=3)
    assert len(result.records) == 3
    assert result.problems[0].location == "f.log:4" and "more than 3 records" in result.problems[0].reason


def test_the_table_refuses_duplicates_and_bad_names():
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("falco", kind="signal", provider="falco")(lambda r: False)
    with pytest.raises(ValueError, match="snake_case"):
        registry.register("Falco-2", kind="signal", provider="falco")
    assert all(f.kind in registry.KINDS for f in FORMATS.values())
    assert set(FORMATS) == {"guardduty", "defender", "scc", "falco", "tetragon", "cloudtrail", "entra", "gcp_audit",
                            "kubernetes", "aws_iam", "eks_pod_identity", "azure_role", "azure_federated_credential",
                            "gcp_iam", "gcp_wif_provider", "weft_event"}


DEFENDER_ALERTS = [
    {"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Security/locations/westeurope/alerts/a1",
     "name": "a1", "type": "Microsoft.Security/Locations/alerts",
     "properties": {"alertType": "K8S_PrivilegedContainer", "systemAlertId": "a1", "severity": "High"}},
    {"properties": {"alertType": "K8S.NODE_SuspectCommand", "alertDisplayName": "x"}},
    {"alertType": "AI.Azure_Jailbreak", "alertDisplayName": "Jailbreak attempt", "systemAlertId": "a2"},
]


def test_defender_alerts_in_every_shape():
    for alert in DEFENDER_ALERTS:
        [record] = recognise(json.dumps(alert).encode(), "alert.json").records
        assert (record.format, record.subject) == ("defender", subjects.signals("azure"))


def test_a_broken_pubsub_push_is_a_problem():
    push = {"message": {"data": "not base64!", "messageId": "1"}, "subscription": "projects/p/subscriptions/s"}
    result = recognise(json.dumps(push).encode(), "push.json")
    assert result.records == []
    assert result.problems[0].location == "push.json:1"
    assert result.problems[0].reason.startswith("Pub/Sub message data is not base64")


def test_a_record_two_formats_accept_is_ambiguous():
    both = {"rule": "r", "priority": "p", "output": "o", "time": "t", "eventSource": "s3.amazonaws.com",
            "eventName": "GetObject", "eventTime": "t"}
    [problem] = recognise(json.dumps(both).encode(), "x.json").problems
    assert problem.reason.startswith("ambiguous record: it looks like falco and cloudtrail")
