"""Shadow AI: agents found at runtime that the declared inventory (a YAML file, or the
weft.dev/declared label) does not cover are flagged, with where they run and what they reach."""
import pytest
from observe_events import Actor, langchain_agent, vllm_server, web_server

from weft.discovery.core.agents import agent_id
from weft.discovery.core.classify import Observer
from weft.discovery.core.fingerprints import Catalogue, load_catalogue
from weft.discovery.core.shadow import InventoryError, find_shadow, load_inventory, parse_inventory

INVENTORY = """\
apiVersion: weft.dev/v1
kind: AgentInventory
agents:
  - name: agents/support-bot
    owner: support
    clusters: [eks]
  - name: helpdesk
"""


def shadow(events, inventory_text=INVENTORY):
    observer = Observer(Catalogue(load_catalogue()))
    observer.observe(events)
    return find_shadow(observer.inventory(), parse_inventory(inventory_text, "inventory.yaml"), observer.profiles())


def test_an_undeclared_agent_is_flagged_with_where_it_runs_and_what_it_reaches():
    rogue = Actor("gke", "marketing", "copywriter")
    events = [rogue.exec(0, "node", "/app/index.js"), rogue.open(1, "/app/node_modules/@langchain/core/dist/index.js"),
              rogue.dns(2, "api.mistral.ai"), rogue.connect(2, "api.mistral.ai", 443, ip="104.18.1.1"),
              rogue.llm(3, "api.mistral.ai", model="mistral-large", provider="mistral"),
              rogue.mcp(4, "https://mcp.example.net/sse", tool="search"), rogue.dns(5, "hooks.example.org")]
    [flagged] = shadow(events + web_server() + vllm_server())
    assert (flagged.name, flagged.id, flagged.reason) == (
        "marketing/copywriter", agent_id("marketing/copywriter"), "not in the declared inventory")
    assert (flagged.clusters, flagged.workloads) == (("gke",), ("gke/marketing/copywriter",))
    assert flagged.reaches == ("egress api.mistral.ai:443/TCP", "model mistral/mistral-large@api.mistral.ai",
                               "mcp https://mcp.example.net/sse search", "dns hooks.example.org")
    assert flagged.confidence > 0.9 and any("LangChain" in e for e in flagged.evidence)


def test_declared_agents_inference_servers_and_web_servers_are_not_flagged():
    labelled = Actor("aks", "support", "bot-v2", labels={"weft.dev/agent": "helpdesk"})
    assert shadow(langchain_agent("eks") + [labelled.llm(0, "api.openai.com")] + vllm_server() + web_server()) == []


def test_the_declared_label_declares_an_agent():
    ok = Actor("aks", "ops", "runbook-bot", labels={"weft.dev/declared": "true"})
    not_ok = Actor("aks", "ops", "pager-bot", labels={"weft.dev/declared": "no"})
    found = shadow([ok.llm(0, "api.anthropic.com"), not_ok.llm(0, "api.anthropic.com")])
    assert [f.name for f in found] == ["ops/pager-bot"]


def test_an_agent_running_outside_its_declared_clusters_is_flagged():
    [flagged] = shadow(langchain_agent("eks") + langchain_agent("aks", t=30))
    assert flagged.name == "agents/support-bot"
    assert flagged.reason == "declared for eks only; also runs in aks"
    assert flagged.clusters == ("aks", "eks")


@pytest.mark.parametrize("text, says", [
    (INVENTORY + "    colour: red\n", "inventory.yaml:8: agents[1].colour: Additional properties are not allowed"),
    (INVENTORY + "  - name: Agents/Bad Name\n", "inventory.yaml:8: agents[2].name: 'Agents/Bad Name' is not a "
                                                "logical agent name"),
    (INVENTORY + "  - name: helpdesk\n", "inventory.yaml:8: agents[2].name: 'helpdesk' is declared twice"),
    (INVENTORY.replace("AgentInventory", "Inventory"), "inventory.yaml:2: kind: 'AgentInventory' was expected"),
    (INVENTORY.replace("[eks]", "[eks, eks]"), "inventory.yaml:6: agents[0].clusters: ['eks', 'eks'] has non-unique"),
    (INVENTORY + "  - name: [\n", "inventory.yaml:9: invalid YAML"),
])
def test_inventory_errors_say_file_line_and_field(text, says):
    with pytest.raises(InventoryError) as e:
        parse_inventory(text, "inventory.yaml")
    assert str(e.value).startswith(says)


def test_an_inventory_loads_from_a_file(tmp_path):
    path = tmp_path / "agents.yaml"
    path.write_text(INVENTORY)
    inventory = load_inventory(path)
    assert sorted(inventory.agents) == ["agents/support-bot", "helpdesk"]
    assert inventory.agents["agents/support-bot"].clusters == ("eks",) and inventory.source == str(path)
    with pytest.raises(InventoryError, match="No such file"):
        load_inventory(tmp_path / "missing.yaml")
