"""The cross-cloud execution graph: which workload called which, across clusters and
clouds, told apart by MCP sessions seen on both ends, service names, and accepts from a
cluster's egress IP; built from batches in any order to the same graph."""
import random
from dataclasses import replace

import pytest
from observe_events import ADDRESSES, RECORDS_URL, Actor, cross_cloud_fleet

from weft.discovery.core.classify import Observer
from weft.discovery.core.fingerprints import Catalogue, load_catalogue
from weft.discovery.core.graph import ExecutionGraph
from weft.discovery.core.graph_model import Graph, node_id
from weft.discovery.core.graph_render import render_json
from weft.discovery.core.sightings import MAX_SAMPLES, Sightings
from weft.v1 import event_pb2 as pb

CATALOGUE = Catalogue(load_catalogue())
EKS, AKS, GKE = ADDRESSES["eks"], ADDRESSES["aks"], ADDRESSES["gke"]


def snapshot(*batches) -> Graph:
    observer, graph = Observer(CATALOGUE), ExecutionGraph()
    for events in batches:
        observer.observe(events)
        graph.add(events)
    return graph.snapshot(observer.inventory())


def where(graph: Graph, node: str) -> str:
    n = graph.by_id[node]
    return f"{n.name}@{n.cluster}" if n.cluster else n.name


def edges(graph: Graph) -> set[tuple]:
    """(caller, callee, kind, count, crossProvider), nodes as name@cluster."""
    return {(where(graph, e.source), where(graph, e.target), e.kind, e.count, e.cross_provider) for e in graph.edges}


@pytest.fixture(scope="module")
def fleet() -> Graph:
    return snapshot(cross_cloud_fleet())


def test_the_reference_fleet_has_exactly_its_calls_and_only_real_cross_provider_edges(fleet):
    fs = "@modelcontextprotocol/server-filesystem"
    assert edges(fleet) == {
        ("agents/agent@eks", "tools/records-mcp@aks", "mcp", 2, True),          # EKS -> AKS: crosses clouds
        ("agents/agent@eks", "data/storage@gke", "tcp", 1, True),               # EKS -> GKE, by address only
        ("agents/agent@eks", "agents/model@eks", "llm", 2, False),
        ("agents/agent@eks", f"{fs}@eks", "mcp", 1, False),                     # its own stdio server
        ("agents/agent@eks", "paste.example.org", "tcp", 1, False),             # outside: no cloud to cross
        ("agents/agent@aks", "tools/records-mcp@aks", "mcp", 1, False),         # AKS -> AKS does not
        ("agents/agent@aks", "openai/gpt-4o", "llm", 1, False),
        ("agents/agent@aks", f"{fs}@aks", "mcp", 1, False),
        ("tools/records-mcp@aks", "payments/api@aks", "tcp", 1, False)}


def test_nodes_carry_kind_cluster_and_cloud(fleet):
    nodes = {(n.kind, n.name, n.cluster, n.provider) for n in fleet.nodes}
    assert nodes == {
        ("agent", "agents/agent", "eks", "aws"), ("agent", "agents/agent", "aks", "azure"),
        ("inference_server", "agents/model", "eks", "aws"), ("mcp_server", "tools/records-mcp", "aks", "azure"),
        ("mcp_server", "@modelcontextprotocol/server-filesystem", "eks", "aws"),
        ("mcp_server", "@modelcontextprotocol/server-filesystem", "aks", "azure"),
        ("service", "payments/api", "aks", "azure"), ("service", "data/storage", "gke", "gcp"),
        ("model", "openai/gpt-4o", "", "openai"), ("external", "paste.example.org", "", "")}


def test_how_each_callee_was_told(fleet):
    via = {(where(fleet, e.source), where(fleet, e.target)): e.via for e in fleet.edges}
    assert via[("agents/agent@eks", "tools/records-mcp@aks")] == ("mcp_session",)
    assert via[("agents/agent@eks", "data/storage@gke")] == ("egress_ip",)
    assert via[("agents/agent@eks", "agents/model@eks")] == ("dns",)
    assert via[("tools/records-mcp@aks", "payments/api@aks")] == ("dns",)
    assert via[("agents/agent@aks", "openai/gpt-4o")] == ("llm_request",)
    [cross] = [e for e in fleet.edges if e.kind == "mcp" and e.cross_provider]
    assert (cross.first_seen, cross.last_seen) == (1_750_000_020, 1_750_000_021)
    assert cross.endpoints == (RECORDS_URL,)


def test_only_ai_workloads_and_what_they_reach_are_in_the_graph(fleet):
    """The nightly job writes to the same GKE storage from EKS: a cross-cloud call with no AI in it."""
    names = {n.name for n in fleet.nodes}
    assert "data/nightly-export" not in names
    assert not any(where(fleet, e.source) == "data/nightly-export@eks" for e in fleet.edges)


def test_connections_to_a_host_the_agent_sent_requests_to_are_shown_by_the_requests(fleet):
    assert {"api.openai.com", "model.agents.svc.eks.lab", "records-mcp.tools.svc.aks.lab"}.isdisjoint(
        n.name for n in fleet.nodes)


def client(agent: Actor, t: int, session: str, request: str, server: str = "https://records.example.net/mcp"):
    return agent.mcp(t, server, "read_records", transport="streamable-http", side="client", session=session,
                     request=request)


def server(records: Actor, t: int, session: str, request: str, server: str = "https://records.example.net/mcp"):
    return records.mcp(t, server, "read_records", transport="streamable-http", side="server", session=session,
                       request=request)


def test_an_mcp_call_is_matched_to_its_server_by_session_and_request_id_on_both_ends():
    """Behind a public name nobody in the fleet owns, only the session tells where it went."""
    agent, records = Actor("eks", "agents", "agent"), Actor("aks", "tools", "records-mcp")
    lonely = Actor("gke", "tools", "other-mcp")
    graph = snapshot([client(agent, 1, "s1", "1"), server(records, 1, "s1", "1"),
                      client(agent, 2, "s1", "2"), server(records, 2, "s1", "2"),
                      server(lonely, 3, "s1", "99"),                   # same session id, no request in common
                      client(agent, 4, "s2", "1"), server(records, 4, "s3", "1")])   # ids match, sessions do not
    assert edges(graph) == {("agents/agent@eks", "tools/records-mcp@aks", "mcp", 2, True),
                            ("agents/agent@eks", "records.example.net", "mcp", 1, False)}
    [matched] = [e for e in graph.edges if e.cross_provider]
    assert matched.via == ("mcp_session",)


def test_a_connection_by_address_goes_to_the_workload_that_accepted_it_nearest_in_time():
    """Two AKS workloads answer on one address and port; which one a connection from EKS
    reached is the one that accepted from EKS's egress IP at that moment."""
    agent = Actor("eks", "agents", "agent")
    records, payments = Actor("aks", "tools", "records"), Actor("aks", "payments", "api")
    graph = snapshot([agent.llm(0, "api.openai.com"),
                      agent.connect(100, "", 8080, ip=AKS), records.accept(101, 8080, peer=EKS),
                      agent.connect(200, "", 8080, ip=AKS), payments.accept(200, 8080, peer=EKS),
                      agent.connect(205, "", 8080, ip=AKS), payments.accept(206, 8080, peer=EKS),
                      agent.connect(900, "", 8080, ip=AKS),                       # nobody accepted then
                      payments.accept(300, 8080, peer="10.99.0.1")])            # from elsewhere: no match
    assert edges(graph) == {("agents/agent@eks", "openai/gpt-4o", "llm", 1, False),
                            ("agents/agent@eks", "tools/records@aks", "tcp", 1, True),
                            ("agents/agent@eks", "payments/api@aks", "tcp", 2, True),
                            ("agents/agent@eks", f"{AKS}@aks", "tcp", 1, True)}
    kinds = {where(graph, n.id): n.kind for n in graph.nodes}
    assert kinds[f"{AKS}@aks"] == "endpoint"          # AKS's address, its workload not told


def test_a_service_name_counts_only_when_that_workload_answered_on_that_port():
    agent, payments = Actor("eks", "agents", "agent"), Actor("aks", "payments", "api")
    graph = snapshot([agent.llm(0, "api.openai.com"), payments.accept(0, 8080, peer=EKS),
                      agent.connect(5, "api.payments.svc.aks.lab", 8080, ip=AKS),
                      agent.connect(6, "api.payments.svc.aks.lab", 9999, ip=AKS)])
    targets = {(where(graph, e.target), e.via) for e in graph.edges if e.kind == "tcp"}
    assert targets == {("payments/api@aks", ("dns",)), ("api.payments.svc.aks.lab@aks", ("unmatched",))}


def test_two_clusters_of_one_cloud_are_not_a_provider_boundary():
    agent, shop = Actor("eks", "agents", "agent"), Actor("eks-eu", "shop", "api")
    shop.node.provider, shop.node.egress_ips[:] = pb.Node.AWS, ["10.77.4.10"]
    graph = snapshot([agent.llm(0, "api.openai.com"), shop.accept(0, 443, peer=EKS),
                      agent.connect(1, "api.shop.svc.eks-eu.lab", 443, ip="10.77.4.10")])
    assert ("agents/agent@eks", "shop/api@eks-eu", "tcp", 1, False) in edges(graph)


def test_a_fleet_service_name_whose_workload_was_never_seen_is_an_endpoint_of_its_cluster():
    agent, other = Actor("eks", "agents", "agent"), Actor("aks", "tools", "other")
    graph = snapshot([other.exec(0, "python3", "x.py"), other.accept(0, 22, peer=AKS),
                      agent.mcp(1, "records-mcp.tools.svc.aks.lab:8080/mcp", "read", side="client")])
    assert edges(graph) == {("agents/agent@eks", "records-mcp.tools.svc.aks.lab@aks", "mcp", 1, True)}


def test_an_address_nobody_in_the_fleet_owns_is_an_external_endpoint():
    agent = Actor("gke", "agents", "agent")
    graph = snapshot([agent.llm(0, "api.openai.com"), agent.connect(1, "", 443, ip="192.0.2.80")])
    [ext] = [n for n in graph.nodes if n.kind == "external"]
    assert (ext.name, ext.cluster, ext.provider) == ("192.0.2.80", "", "")


def test_batches_in_any_order_give_the_same_graph_byte_for_byte(fleet):
    events = cross_cloud_fleet()
    for seed in range(3):
        shuffled = events[:]
        random.Random(seed).shuffle(shuffled)
        again = snapshot(*(shuffled[i:i + 5] for i in range(0, len(shuffled), 5)))
        assert again == fleet
        assert render_json(again) == render_json(fleet)


def test_ids_are_content_derived_and_do_not_depend_on_what_a_node_turned_out_to_be(fleet):
    agent = next(n for n in fleet.nodes if n.kind == "agent" and n.cluster == "eks")
    assert agent.id == node_id("workload", "eks", "agents", "agent")
    events = cross_cloud_fleet()
    observer, graph = Observer(CATALOGUE), ExecutionGraph()
    observer.observe(events)
    graph.add(events)
    as_tools = [replace(d, classification=replace(d.classification, kind="tool")) if d.kind == "agent" else d
                for d in observer.inventory()]
    retold = graph.snapshot(as_tools)
    assert {n.id: n.kind for n in retold.nodes}[agent.id] == "tool"
    assert {n.id for n in retold.nodes} == {n.id for n in fleet.nodes}
    # without Observe's inventory no workload is known to be AI: only the servers agents run themselves
    assert {(n.kind, n.cluster) for n in graph.snapshot().nodes} == {("mcp_server", "eks"), ("mcp_server", "aks")}


def test_memory_grows_with_distinct_calls_not_with_events():
    agent, storage = Actor("eks", "agents", "agent"), Actor("gke", "data", "storage")
    events = [agent.llm(0, "api.openai.com"), storage.accept(0, 9000, peer=EKS)]
    events += [agent.connect(t, "", 9000, ip=GKE) for t in range(2000)]
    events += [storage.accept(t, 9000, peer=EKS) for t in range(1, 2000)]
    graph = ExecutionGraph()
    graph.add(events)
    obs = graph.observations
    assert len(obs.calls) == 2 and len(obs.accepts) == 1
    assert all(len(s.samples) <= MAX_SAMPLES for s in [*obs.calls.values(), *obs.accepts.values()])
    observer = Observer(CATALOGUE)
    observer.observe(events)
    [tcp] = [e for e in graph.snapshot(observer.inventory()).edges if e.kind == "tcp"]
    assert (tcp.count, tcp.first_seen, tcp.last_seen, tcp.via) == (2000, 1_750_000_000, 1_750_001_999, ("egress_ip",))


def test_an_event_standing_for_many_counts_them_all():
    agent, storage = Actor("eks", "agents", "agent"), Actor("gke", "data", "storage")
    burst, accepted = agent.connect(10, "", 9000, ip=GKE), storage.accept(10, 9000, peer=EKS)
    for ev in (burst, accepted):                      # the sensor folded 40 identical events into one
        ev.count = 40
        ev.last_seen.FromSeconds(1_750_000_100)
    graph = snapshot([agent.llm(0, "api.openai.com"), burst, accepted])
    [tcp] = [e for e in graph.edges if e.kind == "tcp"]
    assert (tcp.count, tcp.first_seen, tcp.last_seen) == (40, 1_750_000_010, 1_750_000_100)


def test_sightings_are_the_same_whatever_order_they_arrive_in():
    times = [(t, t + (t % 3), 1 + t % 2) for t in range(0, 400, 7)]
    results = set()
    for seed in range(5):
        random.Random(seed).shuffle(times)
        s = Sightings()
        for start, end, count in times:
            s.add(start, end, count)
        results.add((s.count, s.first, s.last, tuple(s.samples), s.overflow))
    [(count, first, last, samples, overflow)] = results
    assert len(samples) == MAX_SAMPLES and samples[0][0] == first == 0 and last == 399
    assert overflow == count - sum(c for _, _, c in samples) > 0
