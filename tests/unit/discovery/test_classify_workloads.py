"""Classification from what a workload runs, opens and reaches: agents, inference servers,
MCP servers, tools, and everything else (none)."""
import pytest
from observe_events import SITE, Actor, batch_job, langchain_agent, vllm_server, web_server

from weft.discovery.core.agents import WorkloadRef
from weft.discovery.core.classify import Evidence, Observer, decide
from weft.discovery.core.fingerprints import Catalogue, load_catalogue


@pytest.fixture(scope="module")
def catalogue():
    return Catalogue(load_catalogue())


def classify(catalogue, events):
    observer = Observer(catalogue)
    observer.observe(events)
    return observer.classifications()


def kinds(catalogue, events) -> dict[str, str]:
    return {f"{r.namespace}/{r.name}": c.kind for r, c in classify(catalogue, events).items()}


def test_a_plain_web_server_and_a_batch_job_calling_object_storage_are_not_agents(catalogue):
    got = classify(catalogue, web_server() + batch_job())
    assert got[WorkloadRef("eks", "shop", "web")].kind == "none"
    assert got[WorkloadRef("eks", "data", "nightly-export")].kind == "none"
    assert got[WorkloadRef("eks", "data", "nightly-export")].evidence == ()


def test_an_inference_server_is_an_inference_server_not_an_agent(catalogue):
    c = classify(catalogue, vllm_server())[WorkloadRef("eks", "models", "llm")]
    assert c.kind == "inference_server" and c.confidence > 0.95
    assert c.evidence[0].fingerprint == "vllm" and c.evidence[0].signal == "exec"
    # the openai package vLLM ships is seen, but does not make it an agent
    assert any(e.fingerprint == "openai_sdk" and e.role == "agent" for e in c.evidence)


def test_ollama_is_known_by_command_and_port_and_its_caller_is_an_agent(catalogue):
    ollama = Actor("gke", "models", "ollama", exe="/bin/ollama")
    app = Actor("gke", "apps", "summariser")
    got = kinds(catalogue, [ollama.exec(0, "/bin/ollama", "serve"), ollama.accept(1, 11434, peer="10.77.3.11"),
                            app.exec(0, "python3", "summarise.py"), app.connect(2, "ollama.models.svc", 11434)])
    assert got == {"apps/summariser": "agent", "models/ollama": "inference_server"}


def test_an_agent_framework_and_model_api_calls_make_an_agent_with_evidence(catalogue):
    c = classify(catalogue, langchain_agent())[WorkloadRef("eks", "agents", "support-bot")]
    assert c.kind == "agent" and c.confidence > 0.99
    said = {(e.fingerprint, e.signal, e.value) for e in c.evidence}
    assert ("openai", "host", "api.openai.com") in said
    assert ("langchain", "path", f"{SITE}/langchain_core/__init__.py") in said
    assert ("llm_traffic", "traffic", "api.openai.com") in said
    assert all(e.role == "agent" for e in c.evidence)


@pytest.mark.parametrize("path", [f"{SITE}/crewai/agent.py", f"{SITE}/langgraph/graph/state.py",
                                  f"{SITE}/llama_index/core/__init__.py", f"{SITE}/autogen_agentchat/agents.py",
                                  f"{SITE}/semantic_kernel/kernel.py", f"{SITE}/smolagents/agents.py",
                                  f"{SITE}/pydantic_ai/agent.py", f"{SITE}/haystack/core/pipeline.py",
                                  "/app/node_modules/@langchain/core/dist/index.js",
                                  "/app/node_modules/@openai/agents-core/dist/index.mjs"])
def test_each_agent_framework_loaded_at_runtime_makes_an_agent(catalogue, path):
    bot = Actor("eks", "agents", "bot")
    assert kinds(catalogue, [bot.open(0, path)]) == {"agents/bot": "agent"}


def test_a_model_sdk_alone_is_too_weak_to_make_an_agent(catalogue):
    app = Actor("eks", "apps", "thumbnailer")
    c = classify(catalogue, [app.open(0, f"{SITE}/openai/__init__.py")])[WorkloadRef("eks", "apps", "thumbnailer")]
    assert c.kind == "none" and [e.fingerprint for e in c.evidence] == ["openai_sdk"]


@pytest.mark.parametrize("argv", [("npx", "-y", "@modelcontextprotocol/server-filesystem", "/data"),
                                  ("uvx", "mcp-server-fetch"),
                                  ("python3", "-m", "mcp_server_git", "--repository", "/repo"),
                                  ("mcp", "run", "server.py")])
def test_a_spawned_mcp_server_makes_an_mcp_server(catalogue, argv):
    srv = Actor("aks", "tools", "files-mcp")
    assert kinds(catalogue, [srv.exec(0, *argv), srv.accept(1, 8080)]) == {"tools/files-mcp": "mcp_server"}


def test_an_agent_that_spawns_a_stdio_mcp_server_stays_an_agent(catalogue):
    bot = Actor("eks", "agents", "coder")
    events = [bot.exec(0, "python3", "agent.py"), bot.open(1, f"{SITE}/langgraph/__init__.py"),
              bot.exec(2, "npx", "-y", "@modelcontextprotocol/server-filesystem", "/work"),
              bot.mcp(3, "server-filesystem", tool="read_file", transport="stdio"), bot.llm(4, "api.anthropic.com")]
    c = classify(catalogue, events)[WorkloadRef("eks", "agents", "coder")]
    assert c.kind == "agent"
    assert any(e.role == "mcp_server" for e in c.evidence)   # still said: it hosts one


def test_a_browser_automation_runtime_is_a_tool(catalogue):
    browser = Actor("gke", "tools", "browser", image="mcr.microsoft.com/playwright:v1.52.0-noble")
    events = [browser.exec(0, "/ms-playwright/chromium-1169/chrome-linux/chrome", "--headless", "--no-sandbox")]
    assert kinds(catalogue, events) == {"tools/browser": "tool"}


def test_images_identify_servers_before_anything_runs(catalogue):
    srv = Actor("eks", "models", "tgi", image="ghcr.io/huggingface/text-generation-inference:3.3")
    assert kinds(catalogue, [srv.exit(0)]) == {"models/tgi": "inference_server"}


def test_independent_evidence_adds_up_and_ties_go_to_the_agent():
    def ev(role, weight, fp):
        return Evidence(role, fp, 0, fp, "path", "/x", weight, 0)
    assert decide([ev("agent", 0.3, "a"), ev("agent", 0.3, "b")]).kind == "agent"        # 1 - 0.7² = 0.51
    assert decide([ev("agent", 0.3, "a")]).kind == "none"
    tie = decide([ev("mcp_server", 0.8, "m"), ev("agent", 0.8, "a")])
    assert (tie.kind, tie.confidence, tie.evidence[0].role) == ("agent", 0.8, "agent")
