"""`weft policy suggest`: the intent a profile supports allows every behaviour the agent
was seen doing and nothing next to it (checked by the intent's own oracle)."""
from __future__ import annotations

from weft.enforce.core import lowering, oracle, validation
from weft.enforce.core.questions import Exec, FileAccess, HostEgress, IpEgress
from weft.enforce.core.suggest import suggest

PROFILE = {
    "agent": "agents/support-bot", "id": "ag-1", "status": "ready", "clusters": ["eks", "aks"],
    "execs": [{"path": "/usr/bin/python3", "args": ["python3", "bot.py"]}],
    "opens": [{"path": "/app/kb/faq.md", "flags": ["O_RDONLY"]},
              {"path": "/tmp/\u22ef/summary.txt", "flags": ["O_WRONLY", "O_CREAT"]}],
    "egress": [{"name": "llm.models.svc.gke.lab", "port": 8443, "protocol": "TCP"},
               {"name": "orders-mcp.tools.svc.aks.lab", "port": 8080, "protocol": "TCP"},
               {"name": "10.77.3.10", "port": 8080, "protocol": "TCP"}],
    "models": [{"provider": "openai-compatible", "host": "llm.models.svc.gke.lab:8443", "model": "lab-gpt"}],
    "mcp": [{"server": "orders-mcp.tools.svc.aks.lab:8080/mcp", "tool": "lookup_order"},
            {"server": "weft.lab.workloads.orders_mcp", "tool": "lookup_order"}],
}


def policy():
    doc, _warnings = validation.parse(suggest(PROFILE), "suggested")
    return lowering.lower(doc, "suggested")


def test_everything_the_agent_did_is_allowed():
    p = policy()
    for q in (HostEgress("llm.models.svc.gke.lab", 8443, "TCP"), HostEgress("orders-mcp.tools.svc.aks.lab", 8080, "TCP"),
              IpEgress("10.77.3.10", 8080, "TCP"), Exec("/usr/bin/python3"), FileAccess("/app/kb/faq.md", False),
              FileAccess("/tmp/run-1/summary.txt", True)):
        assert oracle.answer(p, q), q


def test_nothing_next_to_it_is():
    p = policy()
    for q in (HostEgress("llm.models.svc.gke.lab", 443, "TCP"), HostEgress("evil.models.svc.gke.lab", 8443, "TCP"),
              HostEgress("sink.example.com", 443, "TCP"), IpEgress("10.77.3.11", 8080, "TCP"),
              IpEgress("10.77.3.10", 8081, "TCP"), Exec("/bin/sh"), FileAccess("/app/kb/faq.md", True),
              FileAccess("/etc/passwd", False)):
        assert not oracle.answer(p, q), q


def test_mcp_over_http_is_named_by_url_and_stdio_servers_are_not():
    intent = suggest(PROFILE)
    assert intent["spec"]["mcp"] == [{"server": "orders-mcp", "url": "http://orders-mcp.tools.svc.aks.lab:8080/mcp",
                                      "tools": ["lookup_order"]}]
    assert intent["spec"]["mode"] == "audit" and intent["spec"]["selector"]["clusters"] == ["aks", "eks"]


def test_observed_cloud_usage_becomes_exactly_those_grants():
    from pathlib import Path
    from weft.cli.offline import Options, analyze
    from weft.enforce.core.questions import AwsCall
    lab = Path(__file__).resolve().parents[2] / "unit" / "posture" / "data" / "lab"
    findings = analyze([p for p in lab.glob("*") if p.suffix in (".json", ".jsonl", ".yaml")], Options()).findings
    doc, _ = validation.parse(suggest(PROFILE, findings=findings), "suggested")
    p = lowering.lower(doc, "suggested")
    assert oracle.answer(p, AwsCall("s3:GetObject", "arn:aws:s3:::support-kb/faq.md"))
    assert oracle.answer(p, AwsCall("sqs:SendMessage", "arn:aws:sqs:us-west-2:111122223333:support-escalations"))
    assert not oracle.answer(p, AwsCall("s3:PutObject", "arn:aws:s3:::support-kb/faq.md")), "used, nothing more"
    assert not oracle.answer(p, AwsCall("s3:GetObject", "arn:aws:s3:::other-bucket/x"))
    assert set(doc.spec.cloud.model_dump(exclude_none=True)) >= {"aws", "azure", "gcp"}
