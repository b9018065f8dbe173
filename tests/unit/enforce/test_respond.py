"""Response to a story: containment blocks the exfiltration destination and nothing the
agent's profile shows it needs; provider steps name the chain's identities."""
from __future__ import annotations

from datetime import datetime, timezone

from weft.enforce.core import lowering, oracle, validation
from weft.enforce.core.questions import HostEgress, IpEgress
from weft.enforce.core.respond import containment, provider_steps, targets

STORY = {"agent": {"id": "ag-1", "name": "agents/support-bot", "namespace": "agents", "workload": "support-bot",
                   "serviceAccount": "support-bot", "clusters": ["eks"]},
         "identityChain": [{"provider": "KUBERNETES", "principal": "system:serviceaccount:agents:support-bot"},
                           {"provider": "AWS", "principal": "arn:aws:iam::111122223333:role/support-bot-irsa"},
                           {"provider": "AZURE", "principal": "3f8e2a71-6c1d-4b9e-a0f2-7d5c4b3a2e19"},
                           {"provider": "GCP", "principal": "principal://iam.googleapis.com/projects/1/x"}],
         "data": {"accessed": [], "destinations": [{"ip": "198.51.100.7", "dnsName": "sink.example.net", "port": 443}]}}
PROFILE = {"agent": "agents/support-bot", "id": "ag-1", "status": "ready", "clusters": ["eks"],
           "egress": [{"name": "llm.models.svc.gke.lab", "port": 8443, "protocol": "TCP"},
                      {"name": "10.77.2.10", "port": 8080, "protocol": "TCP"}]}


def test_containment_allows_the_baseline_and_refuses_the_exfiltration():
    intent = containment(STORY, PROFILE)
    assert intent["spec"]["mode"] == "enforce" and intent["metadata"]["name"] == "support-bot-containment"
    doc, _ = validation.parse(intent, "containment")
    p = lowering.lower(doc, "containment")
    assert oracle.answer(p, HostEgress("llm.models.svc.gke.lab", 8443, "TCP"))
    assert oracle.answer(p, IpEgress("10.77.2.10", 8080, "TCP"))
    assert not oracle.answer(p, HostEgress("sink.example.net", 443, "TCP"))
    assert not oracle.answer(p, IpEgress("198.51.100.7", 443, "TCP"))


def test_a_destination_in_the_baseline_is_still_taken_out():
    profile = {**PROFILE, "egress": PROFILE["egress"] + [{"name": "sink.example.net", "port": 443, "protocol": "TCP"}]}
    doc, _ = validation.parse(containment(STORY, profile), "containment")
    assert not oracle.answer(lowering.lower(doc, "c"), HostEgress("sink.example.net", 443, "TCP"))


def test_provider_steps_name_each_identity():
    steps = provider_steps(STORY, datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc))
    assert [s["provider"] for s in steps] == ["KUBERNETES", "AWS", "AZURE", "GCP"]
    aws = steps[1]["command"]
    assert "--role-name support-bot-irsa" in aws and '"aws:TokenIssueTime":"2026-11-26T12:00:00Z"' in aws
    assert "3f8e2a71-6c1d-4b9e-a0f2-7d5c4b3a2e19" in steps[2]["command"]
    assert "--member='principal://iam.googleapis.com/projects/1/x'" in steps[3]["command"]


def test_the_workload_that_sent_the_data_is_contained_too():
    story = {**STORY, "data": {"accessed": [], "destinations": [
        {**STORY["data"]["destinations"][0], "sources": ["gke/tools/storage-mcp", "gke/tools/storage-mcp"]}]}}
    assert targets(story) == [{"namespace": "agents", "workload": "support-bot", "clusters": ["eks"]},
                              {"namespace": "tools", "workload": "storage-mcp", "clusters": ["gke"]}]
    tool = {"agent": "tools/storage-mcp", "status": "ready", "clusters": ["gke"],
            "egress": [{"name": "buckets.storage.svc.gke.lab", "port": 8081, "protocol": "TCP"}]}
    intent = containment(story, tool, targets(story)[1])
    assert intent["metadata"]["name"] == "storage-mcp-containment"
    assert intent["spec"]["selector"] == {"namespace": "tools", "workload": "storage-mcp", "clusters": ["gke"]}
    p = lowering.lower(validation.parse(intent, "c")[0], "c")
    assert oracle.answer(p, HostEgress("buckets.storage.svc.gke.lab", 8081, "TCP"))
    assert not oracle.answer(p, IpEgress("198.51.100.7", 443, "TCP"))
