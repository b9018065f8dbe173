"""The AI-BOM (CycloneDX 1.6): valid against the real schema, for one agent and for the
fleet; the agent, what it loaded (with purls), the models it asked for, the MCP servers
it runs (components) and calls (services with endpoints and trust boundaries), all with
runtime evidence; the same document, serial number included, for the same events."""
import json
import random

import pytest
import cyclonedx_schema
from cyclonedx_schema import errors
from jsonschema import Draft7Validator
from observe_events import cross_cloud_fleet, langchain_agent

from weft.discovery.core.agents import AgentLookupError, agent_id
from weft.discovery.core.aibom import agent_bom, endpoint_url, fleet_bom, render_bom
from weft.discovery.core.aibom_packages import command_package, model_purl, package_at, pypi_versions
from weft.discovery.core.classify import Observer
from weft.discovery.core.fingerprints import Catalogue, load_catalogue
from weft.discovery.core.graph import ExecutionGraph

CATALOGUE = Catalogue(load_catalogue())
AGENT = "agents/agent"
SITE = "/usr/local/lib/python3.12/site-packages"


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    return cyclonedx_schema.validator()


def fleet_events() -> list:
    """The reference fleet, and a second agent in GKE calling the same MCP server by name."""
    return cross_cloud_fleet() + langchain_agent("gke", name="support-bot", t=60)


def boms(events) -> tuple[dict, dict]:
    observer, graph = Observer(CATALOGUE), ExecutionGraph()
    observer.observe(events)
    graph.add(events)
    found, profiles, snapshot = observer.inventory(), observer.profiles(), graph.snapshot(observer.inventory())
    return (agent_bom(AGENT, inventory=found, profiles=profiles, graph=snapshot, catalogue=CATALOGUE),
            fleet_bom(inventory=found, profiles=profiles, graph=snapshot, catalogue=CATALOGUE))


@pytest.fixture(scope="module")
def one_and_all() -> tuple[dict, dict]:
    return boms(fleet_events())


def test_the_agent_bom_and_the_fleet_bom_are_valid_cyclonedx_1_6(validator, one_and_all):
    for bom in one_and_all:
        assert bom["specVersion"] == "1.6" and bom["bomFormat"] == "CycloneDX"
        assert errors(validator, bom) == []


def test_the_schema_check_catches_what_cyclonedx_does_not_allow(validator, one_and_all):
    broken = json.loads(json.dumps(one_and_all[0]))
    broken["components"][0]["type"] = "model"
    broken["services"][0]["data"][0]["flow"] = "sideways"
    broken["metadata"]["component"]["evidence"]["identity"][0]["methods"][0]["technique"] = "guess"
    assert len(errors(validator, broken)) == 3


def by_ref(bom: dict) -> dict[str, dict]:
    return {c["bom-ref"]: c for c in [*bom["components"], *bom["services"]]}


def test_the_agent_is_the_subject_with_the_runtime_evidence_that_makes_it_one(one_and_all):
    agent = one_and_all[0]["metadata"]["component"]
    assert (agent["type"], agent["name"], agent["bom-ref"]) == ("application", AGENT, agent_id(AGENT))
    [identity] = agent["evidence"]["identity"]
    assert identity["field"] == "name" and 0.99 < identity["confidence"] <= 1
    methods = identity["methods"]
    assert {m["technique"] for m in methods} == {"instrumentation"} and all(0 < m["confidence"] <= 1 for m in methods)
    assert any("LangChain" in m["value"] for m in methods) and any("MCP calls" in m["value"] for m in methods)
    props = {(p["name"], p["value"]) for p in agent["properties"]}
    assert {("weft:cluster", "eks"), ("weft:cluster", "aks"), ("weft:image", "lab/agent:1")} <= props


def test_each_model_asked_for_is_a_machine_learning_model(one_and_all):
    models = {c["name"]: c for c in one_and_all[0]["components"] if c["type"] == "machine-learning-model"}
    assert set(models) == {"gpt-4o", "meta-llama/Llama-3.1-8B"}
    assert models["meta-llama/Llama-3.1-8B"]["purl"] == "pkg:huggingface/meta-llama/Llama-3.1-8B"
    assert "purl" not in models["gpt-4o"]
    assert models["gpt-4o"]["evidence"]["identity"][0]["methods"][0]["technique"] == "instrumentation"


def test_the_stdio_mcp_server_is_a_component_the_agent_depends_on(one_and_all):
    bom = one_and_all[0]
    [stdio] = [c for c in bom["components"] if c["bom-ref"].startswith("mcp-stdio/")]
    assert (stdio["type"], stdio["group"], stdio["name"]) == ("application", "@modelcontextprotocol", "server-filesystem")
    assert stdio["purl"] == "pkg:npm/%40modelcontextprotocol/server-filesystem"
    assert {"name": "weft:mcp-tool", "value": "read_file"} in stdio["properties"]
    deps = {d["ref"]: d.get("dependsOn", []) for d in bom["dependencies"]}
    assert stdio["bom-ref"] in deps[agent_id(AGENT)]
    assert not any(c.get("purl") == stdio["purl"] for c in bom["components"] if c is not stdio)   # listed once


def test_the_remote_mcp_server_is_a_service_with_endpoints_a_trust_zone_and_data_flows(one_and_all):
    services = {s["name"]: s for s in one_and_all[0]["services"]}
    records = services["tools/records-mcp"]
    assert records["endpoints"] == ["http://records-mcp.tools.svc.aks.lab:8080/mcp",
                                    "http://records-mcp.tools.svc.cluster.local:8080/mcp"]
    assert (records["trustZone"], records["x-trust-boundary"]) == ("aks", True)       # called from EKS
    assert [(d["flow"], d["classification"]) for d in records["data"]] == [
        ("inbound", "mcp-tool-arguments"), ("outbound", "mcp-tool-results")]
    api = services["api.openai.com"]
    assert (api["endpoints"], api["trustZone"], api["x-trust-boundary"], api["provider"]) == (
        ["https://api.openai.com/v1/chat/completions"], "external", True, {"name": "openai"})
    model_server = services["agents/model"]
    assert (model_server["trustZone"], model_server["x-trust-boundary"]) == ("eks", False)   # only EKS calls it
    assert services["data/storage"]["trustZone"] == "gke"
    deps = {d["ref"]: d.get("dependsOn", []) for d in one_and_all[0]["dependencies"]}
    assert deps[api["bom-ref"]] == ["model/openai/gpt-4o"]
    assert deps[model_server["bom-ref"]] == ["model/vllm/meta-llama/Llama-3.1-8B"]


def test_frameworks_and_libraries_carry_purls(one_and_all):
    packages = {(c["type"], c["purl"]) for c in one_and_all[0]["components"] if c["bom-ref"].startswith("pkg:")}
    assert packages == {("framework", "pkg:pypi/langchain-core@0.3.15"), ("framework", "pkg:pypi/langchain-openai"),
                        ("library", "pkg:pypi/openai"), ("library", "pkg:pypi/mcp"),
                        ("library", "pkg:npm/%40modelcontextprotocol/sdk")}
    sdk = by_ref(one_and_all[0])["pkg:npm/%40modelcontextprotocol/sdk"]
    [identity] = sdk["evidence"]["identity"]
    assert (identity["field"], identity["confidence"], identity["methods"][0]["technique"]) == (
        "purl", 0.6, "instrumentation")


def test_the_fleet_bom_lists_every_agent_and_what_each_depends_on(one_and_all):
    fleet = one_and_all[1]
    apps = {c["name"] for c in fleet["components"] if c["type"] == "application" and c["bom-ref"].startswith("ag-")}
    assert apps == {AGENT, "agents/support-bot"} and "component" not in fleet["metadata"]
    deps = {d["ref"]: d.get("dependsOn", []) for d in fleet["dependencies"]}
    bot = deps[agent_id("agents/support-bot")]
    assert "model/openai/gpt-4o" in bot and "pkg:pypi/langchain-core" in bot
    records = next(s for s in fleet["services"] if s["name"] == "tools/records-mcp")
    assert records["bom-ref"] in bot and records["bom-ref"] in deps[agent_id(AGENT)]
    assert "http://records-mcp.tools.svc.aks.lab:8080/mcp" in records["endpoints"]


def test_every_reference_resolves_and_every_bom_ref_is_unique(one_and_all):
    for bom in one_and_all:
        refs = [c["bom-ref"] for c in [*bom["components"], *bom["services"], *bom["metadata"]["tools"]["components"]]]
        if "component" in bom["metadata"]:
            refs.append(bom["metadata"]["component"]["bom-ref"])
        assert len(refs) == len(set(refs))
        deps = bom["dependencies"]
        used = {d["ref"] for d in deps} | {r for d in deps for r in d.get("dependsOn", [])}
        assert used <= set(refs)
        assert [c["bom-ref"] for c in bom["components"]] == sorted(c["bom-ref"] for c in bom["components"])


def test_the_same_events_give_the_same_bom_serial_number_included():
    events = fleet_events()
    first = boms(events)
    shuffled = events[:]
    random.Random(3).shuffle(shuffled)
    again = boms(shuffled)
    assert [render_bom(b) for b in again] == [render_bom(b) for b in first]
    assert first[0]["metadata"]["timestamp"] == "2025-06-15T15:07:20Z"          # the agent's latest event
    assert first[0]["serialNumber"].startswith("urn:uuid:") and first[0]["serialNumber"] != first[1]["serialNumber"]
    more = boms(events + langchain_agent("eks", name="agent", t=90))
    assert more[0]["serialNumber"] != first[0]["serialNumber"]


def test_an_agent_is_named_by_name_id_or_short_name():
    found = Observer(CATALOGUE)
    events = fleet_events()
    found.observe(events)
    graph = ExecutionGraph()
    graph.add(events)
    args = dict(inventory=found.inventory(), profiles=found.profiles(), graph=graph.snapshot(found.inventory()),
                catalogue=CATALOGUE)
    assert agent_bom(agent_id(AGENT), **args) == agent_bom("agent", **args) == agent_bom(AGENT, **args)
    with pytest.raises(AgentLookupError, match="no agent 'nobody'"):
        agent_bom("nobody", **args)


@pytest.mark.parametrize("path, purl", [
    (f"{SITE}/langchain_core/runnables/base.py", "pkg:pypi/langchain-core"),
    (f"{SITE}/google/adk/agents/llm_agent.py", "pkg:pypi/google-adk"),
    (f"{SITE}/llama_index/core/__init__.py", "pkg:pypi/llama-index-core"),
    (f"{SITE}/agents/run.py", "pkg:pypi/openai-agents"),
    (f"{SITE}/openai_agents-0.2.1.dist-info/METADATA", "pkg:pypi/openai-agents"),
    ("/usr/lib/python3/dist-packages/six.py", "pkg:pypi/six"),
    ("/app/node_modules/@langchain/core/dist/index.js", "pkg:npm/%40langchain/core"),
    ("/app/node_modules/a/node_modules/openai/index.js", "pkg:npm/openai"),
    ("/app/src/agent.py", None),
])
def test_the_package_a_loaded_file_belongs_to(path, purl):
    pkg = package_at(path)
    assert (pkg.purl() if pkg else None) == purl


@pytest.mark.parametrize("command, purl", [
    ("@modelcontextprotocol/server-github", "pkg:npm/%40modelcontextprotocol/server-github"),
    ("npx -y @modelcontextprotocol/server-filesystem@2025.1.0 /data",
     "pkg:npm/%40modelcontextprotocol/server-filesystem"),
    ("uvx mcp-server-fetch", "pkg:pypi/mcp-server-fetch"),
    ("python3 -m mcp_server_git --repository /src", "pkg:pypi/mcp-server-git"),
    ("mcp_server_time", "pkg:pypi/mcp-server-time"),
    ("orders.py", None),
    ("python3 /app/server.py", None),
])
def test_the_package_an_mcp_server_command_runs(command, purl):
    pkg = command_package(command)
    assert (pkg.purl() if pkg else None) == purl


def test_versions_model_purls_and_endpoint_urls():
    assert pypi_versions([f"{SITE}/langchain_core-0.3.15.dist-info/RECORD", f"{SITE}/Open_AI-1.2.dist-info/x",
                          f"{SITE}/dup-1.0.dist-info/x", f"{SITE}/dup-2.0.dist-info/x"]) == {
        "langchain-core": "0.3.15", "open-ai": "1.2"}
    assert model_purl("Qwen/Qwen2.5-7B-Instruct") == "pkg:huggingface/Qwen/Qwen2.5-7B-Instruct"
    assert model_purl("gpt-4o") == model_purl("publishers/google/models/gemini") == ""
    assert endpoint_url("api.anthropic.com/v1/messages", external=True) == "https://api.anthropic.com/v1/messages"
    assert endpoint_url("records:8080/mcp", external=False) == "http://records:8080/mcp"
    assert endpoint_url("gw.example:443/mcp", external=False) == "https://gw.example/mcp"
    assert endpoint_url("tcp://10.77.3.10:9000", external=False) == "tcp://10.77.3.10:9000"
