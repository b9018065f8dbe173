"""The reference attack (DESIGN.md's opening paragraph), from files: a prompt injection on
an EKS agent misuses an MCP tool to read records from an AKS service and exfiltrates them
through a GKE tool. Three low-severity provider alerts in three consoles, and weft's own
detections, must become one attack story."""
import json
from types import SimpleNamespace

from reference_attack import DATA, chains, feed, live_order, reference, second_attack

from weft.detect.core.call_edges import calls_into
from weft.detect.core.chain_input import ChainBook, IdentityChain, IdentityLink, from_posture, from_published
from weft.detect.core.correlate import Correlator
from weft.detect.core.entities import resolve
from weft.detect.core.signal_record import Signal

STEPS = ["entry", "tool misuse", "data access", "exfiltration"]


def run(steps, chain_data=None) -> Correlator:
    correlator = Correlator(chains() if chain_data is None else chain_data)
    feed(correlator, steps)
    return correlator


def test_the_reference_attack_is_one_story_with_every_signal_stage_and_link():
    corpus = reference()
    [story] = run(live_order(corpus)).stories()
    assert story.severity in ("HIGH", "CRITICAL")
    assert story.providers == ("AWS", "AZURE", "GCP")
    assert story.clusters == ("aks-prod", "eks-prod", "gke-prod")
    assert story.agent.name == "agents/support-bot" and story.agent.service_account == "support-bot"
    declared = json.loads((DATA / "identity-chains.json").read_text())[0]["links"]
    assert [(x.provider, x.principal) for x in story.identity_chain] == [(x["provider"], x["principal"])
                                                                         for x in declared]
    assert set(story.signal_ids) == corpus.signal_ids and len(story.signal_ids) == 6
    assert sorted(i for st in story.stages for i in st.signals) == sorted(corpus.signal_ids)
    assert [st.time_ms for st in story.stages] == sorted(st.time_ms for st in story.stages)
    assert [(st.step, st.provider, st.cluster) for st in story.stages] == [
        ("entry", "AWS", "eks-prod"), ("tool misuse", "AWS", "eks-prod"),
        ("data access", "AZURE", "aks-prod"), ("exfiltration", "GCP", "gke-prod")]
    assert [(d.ip, d.port) for d in story.destinations] == [("203.0.113.50", 22)]
    assert any("crmexports" in a.resource for a in story.accessed)
    assert story.trigger is not None and "ignore all previous instructions" in story.trigger.prompt
    tool_misuse = next(st for st in story.stages if st.step == "tool misuse")
    assert "export_customers on https://crm-mcp.example.com/mcp" in tool_misuse.summary, "names the tool and server"


def test_three_low_provider_alerts_alone_are_one_story_of_at_least_high():
    corpus = reference()
    assert {f["severity_id"] for f in corpus.providers} == {2}          # every part LOW
    steps = [("events", corpus.benign + corpus.attack), *(("alert", f, ()) for f in corpus.providers)]
    [story] = run(steps).stories()
    assert story.providers == ("AWS", "AZURE", "GCP")
    assert story.severity in ("HIGH", "CRITICAL")
    assert any("raised to HIGH" in r for r in story.severity_reasons)


def test_without_runtime_events_or_chains_they_stay_three_unrelated_low_alerts():
    corpus = reference()
    stories = run([("alert", f, ()) for f in corpus.providers], chain_data=[]).stories()
    assert len(stories) == 3
    assert {s.severity for s in stories} == {"LOW"}


def test_without_identity_chains_the_defender_alert_stands_apart():
    corpus = reference()
    stories = run(live_order(corpus), chain_data=[]).stories()
    apart = [s for s in stories if s.key != "agent:agents/support-bot"]
    assert [s.signals[0].source for s in apart] == ["DEFENDER"]
    assert apart[0].key.startswith("principal:")


def test_tool_servers_resolve_to_the_agent_that_called_them():
    corpus = reference()
    correlator = run([("events", corpus.benign + corpus.attack)])
    index, book = correlator.index, ChainBook(chains())
    mcp_alert = next(f for f, _ in corpus.weft if f["metadata"]["event_code"] == "tool_call_reaches_new_data")
    found = resolve(Signal.from_ocsf(mcp_alert), index, book)
    assert (found.direct, found.agent, found.how) == ("tools/crm-mcp", "agents/support-bot", "runtime event")
    assert [(c.caller, c.via) for c in found.path] == [("agents/support-bot", "mcp")]
    scc = resolve(Signal.from_ocsf(corpus.providers[2]), index, book)
    assert (scc.direct, scc.agent, scc.how) == ("tools/storage-tool", "agents/support-bot", "pod")
    defender = resolve(Signal.from_ocsf(corpus.providers[1]), index, book)
    assert (defender.agent, defender.how, defender.clusters) == ("agents/support-bot", "identity chain", ("aks-prod",))
    network = [c for c in calls_into(index, "tools/crm-mcp") if c.via == "network"]
    assert {c.caller for c in network} == {"agents/support-bot"}


def test_a_role_session_names_the_agent_through_its_chain():
    book = ChainBook(chains())
    assert book.agents_for("arn:aws:sts::111122223333:assumed-role/support-bot-irsa/botocore-session-17") == \
        {"agents/support-bot"}
    assert book.agents_for("serviceAccount:other@agents-prod-4411.iam.gserviceaccount.com") == set()


def test_a_second_unrelated_attack_in_the_same_hour_is_a_second_story():
    corpus, other = reference(), second_attack()
    steps = [("events", corpus.benign + other.attack), *live_order(corpus)[1:],
             *(("alert", f, ids) for f, ids in other.weft), *(("alert", f, ()) for f in other.providers)]
    stories = run(steps).stories()
    assert [s.agent.name for s in stories] == ["agents/support-bot", "sales/lead-bot"]
    assert set(stories[0].signal_ids) == corpus.signal_ids
    assert set(stories[1].signal_ids) == other.signal_ids
    assert stories[1].providers == ("AWS",) and stories[1].clusters == ("eks-prod",)
    assert abs(stories[1].first_ms - stories[0].first_ms) < 3600_000


def test_benign_cross_cloud_traffic_alone_creates_no_story():
    corpus = reference()
    correlator = run([("events", corpus.benign)])
    assert correlator.stories() == []
    assert {c.caller for c in calls_into(correlator.index, "tools/crm-mcp")} == {"agents/support-bot"}
    assert {c.caller for c in calls_into(correlator.index, "tools/storage-tool")} == {"agents/support-bot"}


def test_chains_as_posture_publishes_them_read_as_provider_and_principal_per_link():
    published = {
        "id": "ch-0123456789abcdef", "agent": "agents/support-bot", "agentId": "ag-0e0458b682f1ab95",
        "subject": {"cluster": "eks-prod", "namespace": "agents", "serviceAccount": "support-bot",
                    "sub": "system:serviceaccount:agents:support-bot"},
        "links": [{"cloud": "aws", "identity": "arn:aws:iam::111122223333:role/support-bot-irsa", "via": "irsa",
                   "parent": "system:serviceaccount:agents:support-bot", "status": "confirmed", "evidence": [],
                   "disagreements": [], "aliases": [{"kind": "role_id", "value": "AROAEXAMPLEID1234567"}]},
                  {"cloud": "azure", "identity": "3f8e2a71-6c1d-4b9e-a0f2-7d5c4b3a2e19",
                   "via": "azure_workload_identity", "parent": "system:serviceaccount:agents:support-bot",
                   "status": "declared", "evidence": [], "disagreements": [],
                   "aliases": [{"kind": "object_id", "value": "9b2d6e4f-1a3c-4d5e-8f7a-6b5c4d3e2f1a"}]}],
        "identities": []}
    expected = IdentityChain("agents/support-bot", (
        IdentityLink("KUBERNETES", "system:serviceaccount:agents:support-bot", "eks-prod"),
        IdentityLink("AWS", "arn:aws:iam::111122223333:role/support-bot-irsa", aliases=("AROAEXAMPLEID1234567",)),
        IdentityLink("AZURE", "3f8e2a71-6c1d-4b9e-a0f2-7d5c4b3a2e19",
                     aliases=("9b2d6e4f-1a3c-4d5e-8f7a-6b5c4d3e2f1a",))))
    assert from_published(published) == expected
    typed = SimpleNamespace(agent="agents/support-bot", subject=SimpleNamespace(
        sub="system:serviceaccount:agents:support-bot", cluster="eks-prod"), links=[
        SimpleNamespace(cloud=SimpleNamespace(value=x["cloud"]), identity=x["identity"],
                        aliases=tuple((a["kind"], a["value"]) for a in x["aliases"])) for x in published["links"]])
    assert from_posture(typed) == expected
    assert ChainBook([expected]).agents_for("AROAEXAMPLEID1234567:botocore-session-9") == {"agents/support-bot"}


def test_a_finding_naming_only_a_node_and_a_process_resolves_by_process_lineage():
    corpus = reference()
    correlator = run([("events", corpus.benign + corpus.attack)])
    finding = json.loads(json.dumps(corpus.providers[0]))        # GuardDuty: node ip-10-0-1-23, pid 4120 (sh)
    finding["resources"] = [r for r in finding["resources"] if not r["type"].startswith("Kubernetes ")]
    own = resolve(Signal.from_ocsf(finding), correlator.index, correlator.chains)
    assert (own.agent, own.how) == ("agents/support-bot", "process lineage")
    runtime = next(e for e in finding["evidences"] if "process" in e)
    runtime["process"]["pid"] = 31337                            # a process the sensor never saw start ...
    runtime["process"]["parent_process"] = {"pid": 4100}         # ... whose parent is the agent's python
    parent = resolve(Signal.from_ocsf(finding), correlator.index, correlator.chains)
    assert (parent.agent, parent.how) == ("agents/support-bot", "process lineage")
    runtime["process"]["parent_process"] = {"pid": 4242}
    assert resolve(Signal.from_ocsf(finding), correlator.index, correlator.chains).how != "process lineage"
