"""Defender for Cloud alerts to OCSF: the continuous-export SecurityAlert (real sample
and a Kubernetes alert), the ARM and Log Analytics shapes, Entities with $ref, and the
posture records continuous export mixes in (skipped, not converted)."""
import copy
import json

import pytest
from detect_ocsf_checks import assert_golden, assert_valid, fixture, fixture_records, golden_input

from weft.detect.adapters.defender_entities import References
from weft.detect.core.normalise import normalise
from weft.detect.core.signals import signal_facts

EXPORT = "provider-findings/azure-defender/elastic-integrations/test-alert.log"


def convert_one(record) -> dict:
    findings, errors = normalise(record, source_name="test")
    assert errors == []
    assert len(findings) == 1
    return findings[0]


def real_alert() -> dict:
    return fixture_records(EXPORT)[4]


def test_real_security_alert_matches_its_golden_file():
    record = real_alert()
    assert_golden("defender", "sample_alert_suspicious_ip", convert_one(record), record)


def test_kubernetes_alert_matches_its_golden_file():
    record = golden_input("defender", "k8s_alert_workflow_automation")
    assert_golden("defender", "k8s_alert_workflow_automation", convert_one(record), record)


def test_kubernetes_alert_facts_come_from_entities_and_their_references():
    facts = signal_facts(convert_one(golden_input("defender", "k8s_alert_workflow_automation")))
    assert (facts.source, facts.provider, facts.cluster) == ("DEFENDER", "AZURE", "aks-agents")
    assert facts.account == "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
    assert [(p.namespace, p.name) for p in facts.pods] == [("tools", "records-tool-6d9c")]
    assert [(w.kind, w.name) for w in facts.workloads] == [("Deployment", "records-tool")]
    assert [(s.namespace, s.name) for s in facts.service_accounts] == [("tools", "records-tool")]
    assert facts.domains == ("drop.exfil-example.net",)
    assert facts.ips == ("203.0.113.77",)
    assert "6c7d8e9f-0a1b-4c2d-9e3f-4a5b6c7d8e9f" in facts.principals     # the Azure object id


def test_the_real_export_converts_its_alert_and_skips_its_posture_records():
    findings, errors = normalise(fixture(EXPORT).read_bytes(), source_name="test-alert.log")
    assert len(findings) == 1
    assert [(e.location, e.skipped) for e in errors] == [(f"test-alert.log:{n}", True) for n in (1, 2, 3, 4)]
    assert "Microsoft.Security/assessments record is posture data" in errors[1].message


def test_arm_alert_resource_shape_converts_like_the_export():
    alert = real_alert()
    properties = {k[0].lower() + k[1:]: v for k, v in alert.items()}
    arm = {"id": "/subscriptions/12cabcb4-86e8-404f-a3d2-1dc9982f45ca/resourceGroups/Sample-RG/providers/"
                 "Microsoft.Security/locations/centralus/alerts/" + alert["SystemAlertId"],
           "name": alert["SystemAlertId"], "type": "Microsoft.Security/Locations/alerts", "properties": properties}
    finding = convert_one(arm)
    export = convert_one(alert)
    assert_valid(finding)
    for key in ("finding_info", "severity_id", "time", "resources", "evidences"):
        assert finding[key] == export[key], key
    assert finding["cloud"]["region"] == "centralus"


def test_log_analytics_row_with_entities_as_a_string_converts():
    alert = golden_input("defender", "k8s_alert_workflow_automation")
    row = {"TimeGenerated": alert["TimeGenerated"], "AlertName": alert["AlertDisplayName"],
           "AlertSeverity": "High", "SystemAlertId": alert["SystemAlertId"], "AlertType": alert["AlertType"],
           "ProviderName": "MDATP", "VendorName": "Microsoft", "StartTime": alert["StartTimeUtc"],
           "Entities": json.dumps(alert["Entities"])}
    finding = convert_one(row)
    assert finding["severity_id"] == 4
    assert finding["finding_info"]["title"] == "Communication with suspicious domain detected"
    assert signal_facts(finding).cluster == "aks-agents"


def test_references_resolve_to_the_nearest_definition_before_them():
    first, second = {"$id": "5", "Name": "first"}, {"$id": "5", "Name": "second"}
    early, late, forward, dangling = {"$ref": "5"}, {"$ref": "5"}, {"$ref": "9"}, {"$ref": "4"}
    later = {"$id": "9", "Name": "defined after its reference"}
    refs = References([first, {"Host": early}, second, {"Host": late}, {"Host": forward}, later, {"Host": dangling}])
    assert refs.get(early)["name"] == "first"
    assert refs.get(late)["name"] == "second"
    assert refs.get(forward)["name"] == "defined after its reference"
    assert refs.get(dangling) == {}


def test_an_alert_without_its_id_is_a_precise_error_and_the_rest_still_loads():
    broken = real_alert()
    del broken["SystemAlertId"]
    text = json.dumps(golden_input("defender", "k8s_alert_workflow_automation")) + "\n" + json.dumps(broken) + "\n"
    findings, errors = normalise(text, source_name="alerts.jsonl")
    assert len(findings) == 1
    assert [str(e) for e in errors] == [
        "alerts.jsonl:2#/SystemAlertId: Defender for Cloud alert: expected the alert id (a non-empty string), "
        "found nothing (missing)"]


def test_dismissed_alert_is_suppressed_and_closed():
    alert = copy.deepcopy(real_alert())
    alert["Status"] = "Dismissed"
    finding = convert_one(alert)
    assert (finding["status_id"], finding["activity_id"]) == (3, 3)


@pytest.mark.parametrize("status, expected", [("New", 1), ("Active", 1), ("InProgress", 2), ("Resolved", 4)])
def test_alert_status_maps_to_finding_status(status, expected):
    alert = copy.deepcopy(real_alert())
    alert["Status"] = status
    assert convert_one(alert)["status_id"] == expected
