"""Falco JSON alerts to OCSF: golden outputs for real alerts (plain, with Kubernetes and
network fields, with its fields only in `output`), content-derived ids, Kubernetes audit fields."""
import copy

import pytest
from detect_ocsf_checks import assert_golden, fixture, fixture_records

from weft.detect.core.normalise import normalise
from weft.detect.core.signals import signal_facts

ALERTS = "runtime-exports/falco/elastic-integrations/test-falco.log"
REAL = {  # case: line
    "read_sensitive_file_untrusted": 1,
    "read_sensitive_file_kubernetes_pod": 12,
    "read_sensitive_file_network_fields": 15,
    "terminal_shell_in_container": 18,
    "drop_and_execute_fields_only_in_output": 19,   # output_fields holds only evt_time
}


def alert(line: int) -> dict:
    return fixture_records(ALERTS)[line - 1]


def convert_one(record) -> dict:
    findings, errors = normalise(record, source_name="test")
    assert errors == []
    assert len(findings) == 1
    return findings[0]


@pytest.mark.parametrize("case", sorted(REAL))
def test_real_alerts_match_their_golden_files(case):
    record = alert(REAL[case])
    assert_golden("falco", case, convert_one(record), record)


def test_the_whole_export_converts():
    findings, errors = normalise(fixture(ALERTS).read_bytes(), source_name="test-falco.log")
    assert (len(findings), errors) == (19, [])


def test_kubernetes_fields_give_the_pod_and_namespace():
    facts = signal_facts(convert_one(alert(18)))
    assert (facts.source, facts.provider) == ("FALCO", "")
    assert [(p.namespace, p.name) for p in facts.pods] == [("default", "debug")]
    assert facts.processes == ("/bin/sh",)
    assert facts.severity_id == 2


def test_the_id_is_derived_from_content_same_alert_same_id():
    first, again = convert_one(alert(1)), convert_one(copy.deepcopy(alert(1)))
    changed = copy.deepcopy(alert(1))
    changed["output_fields"]["proc.cmdline"] = "event-generator run --once"
    assert first["finding_info"]["uid"] == again["finding_info"]["uid"]
    assert len(first["finding_info"]["uid"]) == 32
    assert convert_one(changed)["finding_info"]["uid"] != first["finding_info"]["uid"]


def test_key_order_and_whitespace_do_not_change_the_id():
    record = alert(2)
    reordered = dict(reversed(list(record.items())))
    assert convert_one(reordered)["finding_info"]["uid"] == convert_one(record)["finding_info"]["uid"]


def test_falco_uuid_is_kept_as_the_second_id():
    assert convert_one(alert(18))["finding_info"]["uid_alt"] == "7466e462-ddde-434d-8dee-390ca5656f83"


def test_kubernetes_audit_alert_names_the_user_service_account_and_target():
    record = {"rule": "Attach/Exec Pod", "priority": "Notice", "source": "k8s_audit",
              "time": "2026-03-02T09:15:00.000000000Z", "output": "Attach/Exec to pod",
              "output_fields": {"ka.user.name": "system:serviceaccount:agents:research-agent",
                                "ka.target.namespace": "tools", "ka.target.resource": "pods",
                                "ka.target.name": "records-tool-6d9c", "ka.verb": "create",
                                "ka.sourceips": "[10.244.1.9]", "ka.response.code": 101}}
    finding = convert_one(record)
    facts = signal_facts(finding)
    assert "system:serviceaccount:agents:research-agent" in facts.principals
    assert [(s.namespace, s.name) for s in facts.service_accounts] == [("agents", "research-agent")]
    assert [(p.namespace, p.name, p.role_id) for p in facts.pods] == [("tools", "records-tool-6d9c", 1)]
    assert facts.ips == ("10.244.1.9",)


def test_an_alert_without_a_rule_is_a_precise_error_and_the_others_load():
    broken = copy.deepcopy(alert(1))
    broken["rule"] = ""
    findings, errors = normalise([alert(2), broken], source_name="falco.json")
    assert len(findings) == 1
    assert [str(e) for e in errors] == [
        "falco.json#/1/rule: Falco alert: expected the rule name (a non-empty string), found an empty string"]
