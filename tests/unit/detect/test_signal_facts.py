"""signal_facts() reads correlation facts from any OCSF Detection Finding, knowing no
vendor: here from a finding written by hand, as another tool might produce it."""
from datetime import datetime, timezone

from weft.detect.core.signals import signal_facts

HAND_WRITTEN = {
    "class_uid": 2004, "activity_id": 1, "severity_id": 4, "time": 1772442902004,
    "finding_info": {"uid": "sig-1", "title": "Outbound connection"},
    "metadata": {"version": "1.7.0", "product": {"uid": "falco", "name": "Falco"}, "event_code": "rule-x"},
    "cloud": {"provider": "GCP", "project_uid": "agents-prod-4411"},
    "actor": {"user": {"name": "ops", "uid": "user:ops@example.com", "email_addr": "ops@example.com"},
              "session": {"issuer": "arn:aws:iam::111122223333:role/agent"}, "app_uid": "0d1e-app"},
    "resources": [
        {"type": "Kubernetes Cluster", "name": "gke-agents", "uid": "//container.googleapis.com/x"},
        {"type": "Kubernetes Pod", "name": "planner-1", "namespace": "agents", "role_id": 1},
        {"type": "Kubernetes StatefulSet", "name": "planner", "namespace": "agents"},
        {"type": "Kubernetes ServiceAccount", "name": "planner", "namespace": "agents"},
        {"type": "google.compute.Instance", "uid": "//compute.googleapis.com/vm"},
    ],
    "evidences": [{"process": {"pid": 7, "name": "curl", "file": {"path": "/usr/bin/curl", "type_id": 1}},
                   "dst_endpoint": {"ip": "203.0.113.77", "port": 443}}],
    "observables": [
        {"name": "evidences.dst_endpoint.ip", "type_id": 2, "value": "203.0.113.77"},
        {"name": "evidences.dst_endpoint.port", "type_id": 11, "value": "443"},
        {"name": "evidences.query.hostname", "type_id": 1, "value": "drop.example.net"},
        {"name": "device.hostname", "type_id": 1, "value": "node-1"},
    ],
}


def test_facts_are_read_from_standard_ocsf_places():
    facts = signal_facts(HAND_WRITTEN)
    assert (facts.signal_id, facts.source, facts.event_code) == ("sig-1", "FALCO", "rule-x")
    assert facts.time == datetime(2026, 3, 2, 9, 15, 2, 4000, tzinfo=timezone.utc)
    assert (facts.provider, facts.account, facts.cluster) == ("GCP", "agents-prod-4411", "gke-agents")
    assert facts.namespaces == ("agents",)
    assert [(p.namespace, p.name, p.role_id) for p in facts.pods] == [("agents", "planner-1", 1)]
    assert [(w.kind, w.name) for w in facts.workloads] == [("StatefulSet", "planner")]
    assert [s.name for s in facts.service_accounts] == ["planner"]
    assert facts.processes == ("/usr/bin/curl",)
    assert (facts.ips, facts.ports, facts.domains) == (("203.0.113.77",), (443,), ("drop.example.net",))
    assert facts.principals == ("user:ops@example.com", "ops@example.com",
                                "arn:aws:iam::111122223333:role/agent", "0d1e-app")


def test_a_finding_with_nothing_optional_gives_empty_facts():
    facts = signal_facts({"finding_info": {"uid": "x"}, "time": 0})
    assert (facts.provider, facts.cluster, facts.kubernetes, facts.principals) == ("", "", (), ())
