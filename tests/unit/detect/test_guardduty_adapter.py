"""GuardDuty findings to OCSF: golden outputs for real samples (EC2 DNS, EKS audit-log
Kubernetes, Runtime Monitoring, Extended Threat Detection) and for the EKS runtime and
AI Protection shapes, the envelopes GuardDuty arrives in, and unknown finding types."""
import copy
import json

import pytest
from detect_ocsf_checks import assert_golden, assert_valid, fixture, fixture_records, golden_input

from weft.detect.core.normalise import normalise
from weft.detect.core.signals import signal_facts

ELASTIC = "provider-findings/aws-guardduty/elastic-integrations/test-guardduty.log"
PANTHER = ("provider-findings/aws-guardduty/panther-analysis/"
           "aws_guardduty_critical_sev_findings__critical-sev-finding.json")

REAL = {  # case: (fixture, line)
    "ec2_blackhole_dns": (ELASTIC, 1),
    "eks_anonymous_access": (ELASTIC, 2),
    "runtime_docker_socket": (ELASTIC, 5),
    "attack_sequence_credentials": (PANTHER, 1),
}


def convert_one(record: dict) -> dict:
    findings, errors = normalise(record, source_name="test")
    assert errors == []
    assert len(findings) == 1
    return findings[0]


@pytest.mark.parametrize("case", sorted(REAL))
def test_real_samples_match_their_golden_files(case):
    path, line = REAL[case]
    record = fixture_records(path)[line - 1]
    assert_golden("guardduty", case, convert_one(record), record)


@pytest.mark.parametrize("case", ["eks_runtime_new_binary", "ai_prompt_injection"])
def test_documented_shapes_match_their_golden_files(case):
    record = golden_input("guardduty", case)
    assert_golden("guardduty", case, convert_one(record), record)


def test_eks_runtime_finding_names_cluster_workload_service_account_and_process():
    facts = signal_facts(convert_one(golden_input("guardduty", "eks_runtime_new_binary")))
    assert (facts.source, facts.provider, facts.cluster) == ("GUARDDUTY", "AWS", "agents-prod")
    assert [(w.kind, w.namespace, w.name) for w in facts.workloads] == [("Deployment", "agents", "research-agent")]
    assert [(s.namespace, s.name) for s in facts.service_accounts] == [("agents", "research-agent")]
    assert facts.processes == ("/tmp/.cache/xmrig",)
    assert facts.signal_id == "3f2e1d0c9b8a47f6a5e4d3c2b1a09f8e"


def test_ai_protection_finding_names_the_role_session_model_and_guardrail():
    finding = convert_one(golden_input("guardduty", "ai_prompt_injection"))
    facts = signal_facts(finding)
    assert "AROAEXAMPLEROLE12345:agent-session" in facts.principals
    types = {r.get("type"): r["uid"] for r in finding["resources"]}
    assert types["AI Model"] == "anthropic.claude-3-5-sonnet-20241022-v2:0"
    assert types["AWS::Bedrock::Guardrail"] == "arn:aws:bedrock:us-east-1:111122223333:guardrail/abc123def456"
    assert facts.ips == ("198.51.100.23",)


def test_kubernetes_audit_finding_keeps_the_kubernetes_user_as_actor():
    record = fixture_records(ELASTIC)[1]
    finding = convert_one(record)
    assert finding["actor"]["user"]["name"] == "system:anonymous"
    assert signal_facts(finding).cluster == "GeneratedFindingEKSClusterName"


def test_a_service_account_user_becomes_a_kubernetes_service_account():
    record = copy.deepcopy(fixture_records(ELASTIC)[1])
    record["resource"]["kubernetesDetails"]["kubernetesUserDetails"]["username"] = \
        "system:serviceaccount:agents:research-agent"
    facts = signal_facts(convert_one(record))
    assert [(s.namespace, s.name, s.role_id) for s in facts.service_accounts] == [("agents", "research-agent", 2)]


def test_eventbridge_envelope_array_and_get_findings_response_give_the_same_finding():
    record = fixture_records(ELASTIC)[0]
    bare = convert_one(record)
    envelope = {"version": "0", "id": "c8a1e2b3-0000-4000-8000-000000000001", "detail-type": "GuardDuty Finding",
                "source": "aws.guardduty", "account": "123412341234", "time": "2022-11-22T12:22:20Z",
                "region": "us-east-1", "resources": [], "detail": record}
    for wrapped in (envelope, [record], {"findings": [record]}):
        findings, errors = normalise(json.dumps(wrapped), source_name="hook")
        assert errors == []
        assert findings == [bare]


def test_an_empty_get_findings_response_is_no_finding_and_no_error():
    assert normalise('{"findings": []}') == ([], [])


def test_an_unknown_finding_type_converts_generically():
    record = copy.deepcopy(fixture_records(ELASTIC)[0])
    record["type"] = "Novelty:QuantumComputer/EntangledQubits"
    record["resource"] = {"resourceType": "QuantumComputer", "quantumDetails": {"qubits": 1121}}
    record["service"]["action"] = {"actionType": "ENTANGLE", "entangleAction": {"pairs": 3}}
    finding = convert_one(record)
    assert_valid(finding)
    assert finding["finding_info"]["types"] == ["Novelty:QuantumComputer/EntangledQubits"]
    assert finding["finding_info"]["uid"] == record["id"]
    assert (finding["severity_id"], finding["cloud"]["provider"]) == (3, "AWS")
    assert "evidences" not in finding and "resources" not in finding
    assert json.loads(finding["raw_data"])["resource"]["quantumDetails"] == {"qubits": 1121}


def test_archived_finding_is_closed():
    record = copy.deepcopy(fixture_records(ELASTIC)[0])
    record["service"]["archived"] = True
    finding = convert_one(record)
    assert (finding["activity_id"], finding["type_uid"], finding["status_id"]) == (3, 200403, 5)


@pytest.mark.parametrize("field, message", [
    ("id", "/id: GuardDuty finding: expected the finding id (a non-empty string), found nothing (missing)"),
    ("severity", "/severity: GuardDuty finding: expected the severity (a number from 1.0 to 10.0), "
                 "found nothing (missing)"),
])
def test_a_finding_missing_a_required_field_is_a_precise_error(field, message):
    record = copy.deepcopy(fixture_records(ELASTIC)[0])
    del record[field]
    findings, errors = normalise([fixture_records(ELASTIC)[1], record], source_name="gd.json")
    assert len(findings) == 1
    assert [str(e) for e in errors] == [f"gd.json#/1{message}"]


def test_a_finding_without_any_time_says_where_it_looked():
    record = copy.deepcopy(fixture_records(ELASTIC)[0])
    for key in ("createdAt", "updatedAt"):
        del record[key]
    record["service"]["eventFirstSeen"] = "yesterday"
    [error] = normalise(record, source_name="gd.json")[1]
    assert error.location == "gd.json#/service/eventFirstSeen"
    assert "/service/eventFirstSeen or /createdAt or /updatedAt" in error.message
    assert "the string 'yesterday'" in error.message


def test_the_fixture_file_loads_whole():
    findings, errors = normalise(fixture(ELASTIC).read_bytes(), source_name="test-guardduty.log")
    assert (len(findings), errors) == (5, [])
