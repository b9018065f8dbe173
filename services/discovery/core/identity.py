"""Whether what a sensor claims is what its certificate proves: pure, no I/O.

With mutual TLS a sensor's (cluster, node) is the one its certificate names; a hello,
a batch or an event that names another is refused, never re-labelled.
"""
from __future__ import annotations

from typing import Iterable

from weft.v1 import event_pb2

Identity = tuple[str, str]   # (cluster, node)


def settle_hello(claimed: event_pb2.Node, proven: Identity) -> str | None:
    """Why the hello is refused, or None; an empty cluster or node is filled from the
    certificate so that everything downstream (subjects, downlink routing) uses it."""
    if why := _mismatch("hello", claimed, proven):
        return why
    claimed.cluster, claimed.name = proven
    return None


def batch_refusal(batch_node: event_pb2.Node, events: Iterable[event_pb2.RuntimeEvent],
                  proven: Identity) -> str | None:
    """Why a batch is refused (its node or one event's names another sensor), or None."""
    if why := _mismatch("batch", batch_node, proven):
        return why
    for ev in events:
        if why := _mismatch(f"event {ev.event_id!r}", ev.node, proven):
            return why
    return None


def _mismatch(what: str, node: event_pb2.Node, proven: Identity) -> str | None:
    cluster, name = proven
    if (node.cluster and node.cluster != cluster) or (node.name and node.name != name):
        return (f"{what} claims cluster {node.cluster or '?'!r} node {node.name or '?'!r}, "
                f"but the client certificate is for cluster {cluster!r} node {name!r}")
    return None
