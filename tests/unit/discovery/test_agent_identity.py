"""A logical agent has one name and one content-derived id in every cluster it runs in;
the CLI finds it by full name, id, short name or an unambiguous prefix."""
import pytest
from observe_events import Actor, langchain_agent

from weft.discovery.core.agents import AgentLookupError, WorkloadRef, agent_id, logical_name, resolve
from weft.discovery.core.classify import Observer
from weft.discovery.core.fingerprints import Catalogue, load_catalogue


def test_a_logical_agent_is_namespace_and_workload_unless_labelled():
    assert logical_name("agents", "support-bot", {"app": "bot"}) == "agents/support-bot"
    assert logical_name("agents", "support-bot", {"weft.dev/agent": "helpdesk"}) == "helpdesk"


def test_ids_are_derived_from_the_name_alone():
    assert agent_id("agents/support-bot") == "ag-0e0458b682f1ab95"   # fixed: stored and published ids rely on it
    assert agent_id("agents/support-bot") != agent_id("agents/support-bot2")


def test_the_same_agent_in_two_clusters_is_one_logical_agent():
    observer = Observer(Catalogue(load_catalogue()))
    observer.observe(langchain_agent("eks") + langchain_agent("aks", t=50))
    [found] = observer.inventory()
    assert (found.name, found.id, found.kind, found.clusters) == (
        "agents/support-bot", agent_id("agents/support-bot"), "agent", ("aks", "eks"))
    assert found.workloads == (WorkloadRef("aks", "agents", "support-bot"), WorkloadRef("eks", "agents", "support-bot"))


def test_the_agent_label_joins_differently_named_workloads():
    label = {"weft.dev/agent": "helpdesk"}
    a, b = Actor("eks", "support", "bot-v1", labels=label), Actor("gke", "support-eu", "bot-v2", labels=label)
    observer = Observer(Catalogue(load_catalogue()))
    observer.observe([a.llm(0, "api.openai.com"), b.llm(1, "generativelanguage.googleapis.com", model="gemini")])
    assert [(d.name, d.kind, d.clusters) for d in observer.inventory()] == [("helpdesk", "agent", ("eks", "gke"))]
    assert sorted(observer.profiles()) == ["helpdesk"]


KNOWN = ["agents/support-bot", "agents/bot", "agents/bot-2", "finance/reporter", "helpdesk"]


@pytest.mark.parametrize("query, name", [
    ("agents/support-bot", "agents/support-bot"), (agent_id("finance/reporter"), "finance/reporter"),
    ("reporter", "finance/reporter"), ("bot", "agents/bot"), ("supp", "agents/support-bot"),
    ("help", "helpdesk"), ("finance/", "finance/reporter"), (agent_id("helpdesk")[:8], "helpdesk")])
def test_resolve_finds_the_one_agent_a_name_means(query, name):
    assert resolve(query, KNOWN) == agent_id(name)


def test_an_ambiguous_name_lists_the_agents_it_could_mean():
    with pytest.raises(AgentLookupError) as e:
        resolve("bot-", ["agents/bot-1", "ops/bot-2", "agents/other"])
    assert e.value.candidates == ("agents/bot-1", "ops/bot-2")
    assert "ambiguous" in str(e.value) and f"ops/bot-2 ({agent_id('ops/bot-2')})" in str(e.value)


def test_an_unknown_name_lists_the_known_agents():
    with pytest.raises(AgentLookupError) as e:
        resolve("nobody", KNOWN)
    assert e.value.candidates == tuple(sorted(KNOWN)) and "no agent 'nobody'" in str(e.value)
    with pytest.raises(AgentLookupError):
        resolve("", KNOWN)
