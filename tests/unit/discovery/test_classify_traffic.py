"""Classification from decoded LLM and MCP traffic: the client side is an agent, the
server side an inference or MCP server, and so is a workload other workloads name."""
import pytest
from observe_events import Actor

from weft.discovery.core.classify import Observer
from weft.discovery.core.fingerprints import Catalogue, load_catalogue


@pytest.fixture(scope="module")
def catalogue():
    return Catalogue(load_catalogue())


def inventory(catalogue, events) -> dict[str, tuple[str, tuple[str, ...]]]:
    observer = Observer(catalogue)
    observer.observe(events)
    return {d.name: (d.kind, d.clusters) for d in observer.inventory()}


def test_the_reference_attack_chain_is_classified_across_clusters(catalogue):
    """The lab: an agent in EKS calls its model server and MCP tools in AKS and GKE that
    run nothing an MCP fingerprint knows (python3 -m http.server)."""
    agent, model = Actor("eks", "agents", "agent"), Actor("eks", "agents", "model")
    records, storage = Actor("aks", "tools", "records-mcp"), Actor("gke", "tools", "storage-mcp")
    api = Actor("aks", "payments", "api")
    events = [model.exec(0, "python3", "-m", "http.server", "8000"), records.exec(0, "python3", "-m", "http.server"),
              storage.exec(0, "python3", "-m", "http.server", "8080"), api.exec(0, "python3", "api.py"),
              agent.exec(1, "python3", "agent.py"), agent.llm(2, "http://model.agents.svc.eks.lab:8000", model="lab-1"),
              agent.mcp(3, "http://records-mcp.tools.svc.aks.lab:8080/mcp", tool="read_records"),
              agent.mcp(4, "storage-mcp.tools.svc.gke.lab:8080", tool="upload"),
              records.connect(3, "api.payments.svc.aks.lab", 8080, ip="10.77.2.10")]
    assert inventory(catalogue, events) == {
        "agents/agent": ("agent", ("eks",)), "agents/model": ("inference_server", ("eks",)),
        "tools/records-mcp": ("mcp_server", ("aks",)), "tools/storage-mcp": ("mcp_server", ("gke",)),
        "payments/api": ("none", ("aks",))}


def test_the_server_side_of_mcp_and_llm_traffic_names_the_server(catalogue):
    records, model = Actor("aks", "tools", "records"), Actor("eks", "ml", "gen")
    events = [records.mcp(0, "http://records.tools.svc.cluster.local/mcp", tool="read_records"),
              model.llm(0, "gen.ml:8000", model="m", provider="openai-compatible")]
    assert inventory(catalogue, events) == {"tools/records": ("mcp_server", ("aks",)),
                                            "ml/gen": ("inference_server", ("eks",))}


def test_a_local_sidecar_model_is_nobody_elses_target(catalogue):
    app = Actor("eks", "apps", "helper")
    other = Actor("eks", "apps", "localhost")   # a workload that happens to share the name
    events = [app.llm(0, "http://localhost:11434", model="llama3", provider="ollama"), other.exit(0)]
    assert inventory(catalogue, events) == {"apps/helper": ("agent", ("eks",)), "apps/localhost": ("none", ("eks",))}


def test_http_requests_to_a_model_api_host_make_an_agent(catalogue):
    app = Actor("gke", "apps", "triage")
    events = [app.http(0, "api.anthropic.com:443", "/v1/messages", "POST"), app.http(1, "example.com")]
    assert inventory(catalogue, events) == {"apps/triage": ("agent", ("gke",))}


def test_host_processes_outside_any_workload_are_ignored(catalogue):
    host = Actor("eks", "", "")
    assert inventory(catalogue, [host.llm(0, "api.openai.com")]) == {}
