"""Calls inside one cluster: no address translation there, so a connection is an edge
only to the accept at exactly the address and port it dialled, from its own address."""
from weft.detect.core.call_edges import NETWORK, calls_into
from weft.detect.core.entity_index import EntityIndex
from weft.v1 import event_pb2

E = event_pb2.RuntimeEvent
CLUSTER_IP = "10.30.0.2"        # the lab shares one address among a cluster's workloads


def net(kind, name: str, t_ms: int, src: tuple, dst: tuple, cluster: str = "gke") -> E:
    ev = E(kind=kind, event_id=f"{name}-{t_ms}-{kind}")
    ev.time.FromMilliseconds(t_ms)
    ev.node.cluster, ev.node.provider = cluster, event_pb2.Node.GCP
    ns, workload = name.split("/")
    ev.workload.namespace, ev.workload.name, ev.workload.container_id = ns, workload, f"c-{workload}"
    n = ev.network
    (n.src_ip, n.src_port), (n.dst_ip, n.dst_port) = src, dst
    return ev


def index_of(*events) -> EntityIndex:
    index = EntityIndex()
    index.add(events)
    return index


def test_a_connection_to_the_address_and_port_that_accepted_is_an_edge_in_its_cluster():
    index = index_of(
        net(E.NETWORK_CONNECT, "tools/storage-mcp", 1_000, (CLUSTER_IP, 40_001), (CLUSTER_IP, 9000)),
        net(E.NETWORK_ACCEPT, "storage/buckets", 1_002, (CLUSTER_IP, 40_001), (CLUSTER_IP, 9000)))
    [call] = calls_into(index, "storage/buckets")
    assert (call.caller, call.via, call.time_ms) == ("tools/storage-mcp", NETWORK, 1_002)


def test_a_connection_to_another_port_or_outside_the_window_is_no_edge():
    index = index_of(
        net(E.NETWORK_CONNECT, "tools/storage-mcp", 1_000, (CLUSTER_IP, 40_001), (CLUSTER_IP, 8080)),
        net(E.NETWORK_CONNECT, "tools/other", 1_000, (CLUSTER_IP, 40_002), (CLUSTER_IP, 9000)),
        net(E.NETWORK_ACCEPT, "storage/buckets", 120_000, (CLUSTER_IP, 40_002), (CLUSTER_IP, 9000)))
    assert calls_into(index, "storage/buckets") == []


def test_a_workload_accepting_its_own_connection_is_no_edge():
    index = index_of(
        net(E.NETWORK_CONNECT, "storage/buckets", 1_000, (CLUSTER_IP, 40_001), (CLUSTER_IP, 9000)),
        net(E.NETWORK_ACCEPT, "storage/buckets", 1_001, (CLUSTER_IP, 40_001), (CLUSTER_IP, 9000)))
    assert calls_into(index, "storage/buckets") == []


def test_the_nearest_connection_in_time_is_the_caller():
    index = index_of(
        net(E.NETWORK_CONNECT, "tools/early", 1_000, (CLUSTER_IP, 40_001), (CLUSTER_IP, 9000)),
        net(E.NETWORK_CONNECT, "tools/storage-mcp", 5_000, (CLUSTER_IP, 40_003), (CLUSTER_IP, 9000)),
        net(E.NETWORK_ACCEPT, "storage/buckets", 5_001, (CLUSTER_IP, 40_003), (CLUSTER_IP, 9000)))
    assert [c.caller for c in calls_into(index, "storage/buckets")] == ["tools/storage-mcp"]
