"""What a sensor claims against what its certificate proves (core/identity.py)."""
from __future__ import annotations

from weft.discovery.core.identity import batch_refusal, settle_hello
from weft.v1 import event_pb2

PROVEN = ("eks", "node-a")


def node(cluster="", name=""):
    return event_pb2.Node(cluster=cluster, name=name, region="us-east-1")


def event(eid, cluster="", name=""):
    return event_pb2.RuntimeEvent(event_id=eid, node=node(cluster, name))


def test_a_hello_that_matches_is_accepted_and_empty_names_come_from_the_certificate():
    claimed = node("eks", "node-a")
    assert settle_hello(claimed, PROVEN) is None
    blank = node()
    assert settle_hello(blank, PROVEN) is None
    assert (blank.cluster, blank.name, blank.region) == ("eks", "node-a", "us-east-1")


def test_a_hello_for_another_cluster_or_node_is_refused_with_both_names():
    why = settle_hello(node("aks", "node-b"), PROVEN)
    assert why == ("hello claims cluster 'aks' node 'node-b', but the client certificate is for "
                   "cluster 'eks' node 'node-a'")
    assert settle_hello(node("eks", "node-b"), PROVEN)
    assert settle_hello(node("aks", ""), PROVEN)


def test_a_batch_whose_events_are_all_this_sensors_passes():
    events = [event("e1", "eks", "node-a"), event("e2"), event("e3", "eks")]
    assert batch_refusal(node("eks", "node-a"), events, PROVEN) is None
    assert batch_refusal(node(), events, PROVEN) is None


def test_one_event_claiming_another_node_refuses_the_batch():
    events = [event("e1", "eks", "node-a"), event("forged", "aks", "node-b")]
    why = batch_refusal(node("eks", "node-a"), events, PROVEN)
    assert why.startswith("event 'forged' claims cluster 'aks' node 'node-b'")


def test_a_batch_node_claiming_another_cluster_is_refused():
    assert batch_refusal(node("gke", "node-a"), [], PROVEN).startswith("batch claims cluster 'gke'")
