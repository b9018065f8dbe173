"""Security Command Center findings to OCSF: the v1 notification and the v2 listFindings
samples, a Pub/Sub push of a notification, GKE clusters, and SCC's other clouds."""
import base64
import copy
import json

from detect_ocsf_checks import assert_golden, fixture_records

from weft.detect.core.normalise import normalise
from weft.detect.core.signals import signal_facts

V1 = "provider-findings/gcp-scc/elastic-integrations/test-finding.log"
V2 = "provider-findings/gcp-scc/demisto-content/list_finding_v2_response.json"


def notification() -> dict:
    return fixture_records(V1)[0]


def v2_result() -> dict:
    return fixture_records(V2)[0]["listFindingsResults"][0]


def convert_one(record) -> dict:
    findings, errors = normalise(record, source_name="test")
    assert errors == []
    assert len(findings) == 1
    return findings[0]


def test_v1_notification_matches_its_golden_file():
    record = notification()
    assert_golden("scc", "v1_notification_application", convert_one(record), record)


def test_v2_threat_finding_matches_its_golden_file():
    record = v2_result()
    assert_golden("scc", "v2_malware_bad_ip", convert_one(record), record)


def test_v2_finding_facts_name_project_principals_process_pods_and_indicators():
    facts = signal_facts(convert_one(v2_result()))
    assert (facts.source, facts.provider, facts.account) == ("SCC", "GCP", "prod-web-app-284002")
    assert facts.signal_id.endswith("/findings/f8e7d6c5b4a3928170615243aabbccdd")
    assert "compute-sa@prod-web-app-284002.iam.gserviceaccount.com" in facts.principals
    assert "admin@example.com" in facts.principals                      # the delegation chain
    assert facts.processes == ("/tmp/.x/cryptominer",)
    assert [(p.namespace, p.name) for p in facts.pods] == [("default", "web-app-7d9f8c5b4-x2k9p")]
    assert [(w.kind, w.name) for w in facts.workloads] == [("Deployment", "web-app")]
    assert facts.domains == ("malicious-c2.example.com",)
    assert (facts.ips, facts.ports) == (("10.0.0.1", "10.128.0.4"), (51820, 443))
    assert facts.severity_id == 5


def test_list_findings_response_and_pubsub_push_give_the_same_finding():
    expected = convert_one(notification())
    push = {"message": {"data": base64.b64encode(json.dumps(notification()).encode()).decode(),
                        "messageId": "4102186535557233", "publishTime": "2023-06-02T05:17:42.112Z",
                        "attributes": {}},
            "subscription": "projects/weft-lab/subscriptions/scc-findings"}
    listed = {"listFindingsResults": [notification()], "readTime": "2023-06-12T09:44:42.505Z", "totalSize": 1}
    for body in (push, listed):
        findings, errors = normalise(json.dumps(body).encode(), source_name="webhook/gcp")
        assert (findings, errors) == ([expected], [])


def test_a_pubsub_push_whose_data_is_not_base64_is_a_precise_error():
    push = {"message": {"data": "%%%", "messageId": "1"}, "subscription": "s"}
    findings, errors = normalise(push, source_name="hook")
    assert findings == []
    assert [e.location for e in errors] == ["hook"]
    assert "Pub/Sub message.data is not base64" in errors[0].message


def test_a_bare_finding_converts_like_its_notification():
    assert convert_one(notification()["finding"])["finding_info"] == convert_one(notification())["finding_info"]


def test_a_gke_cluster_resource_names_the_cluster():
    record = copy.deepcopy(notification())
    name = "//container.googleapis.com/projects/agents-prod-4411/locations/us-central1/clusters/gke-agents"
    record["finding"]["resourceName"] = record["resource"]["name"] = name
    record["finding"]["kubernetes"] = {"pods": [{"ns": "agents", "name": "planner-5c7b9-x2"}]}
    facts = signal_facts(convert_one(record))
    assert (facts.cluster, facts.account) == ("gke-agents", "agents-prod-4411")
    assert [(p.namespace, p.name) for p in facts.pods] == [("agents", "planner-5c7b9-x2")]


def test_an_aws_resource_in_scc_enterprise_takes_the_aws_provider_and_account():
    record = copy.deepcopy(v2_result())
    record["resource"]["cloudProvider"] = "AMAZON_WEB_SERVICES"
    finding = convert_one(record)
    assert (finding["cloud"]["provider"], finding["cloud"]["account"]["uid"]) == ("AWS", "123456789012")


def test_inactive_and_muted_findings():
    inactive = copy.deepcopy(notification())
    inactive["finding"]["state"] = "INACTIVE"
    muted = copy.deepcopy(notification())
    muted["finding"]["mute"] = "MUTED"
    assert (convert_one(inactive)["status_id"], convert_one(inactive)["activity_id"]) == (4, 3)
    assert convert_one(muted)["status_id"] == 3


def test_a_finding_without_its_name_is_a_precise_error():
    record = copy.deepcopy(notification())
    del record["finding"]["name"]
    findings, errors = normalise([record, notification()], source_name="scc.json")
    assert len(findings) == 1
    assert [str(e) for e in errors] == ["scc.json#/0/finding/name: Security Command Center finding: expected "
                                        "the finding name (a non-empty string), found nothing (missing)"]
