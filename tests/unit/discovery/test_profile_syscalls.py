"""Syscall sets reported by the sensor join the agent's profile (one per logical agent,
across clusters), its Kubescape export and the intent `weft policy suggest` writes."""
from __future__ import annotations

from observe_events import Actor

from weft.discovery.core import kubescape
from weft.discovery.core.classify import Observer
from weft.discovery.core.fingerprints import Catalogue, load_catalogue
from weft.discovery.core.profiles import to_dict
from weft.enforce.core.suggest import suggest
from weft.v1 import event_pb2

E = event_pb2.RuntimeEvent


def syscalls(actor: Actor, t: int, *names: str) -> E:
    ev = actor.event(t, E.SYSCALLS)
    ev.syscalls.names.extend(names)
    return ev


def test_syscalls_from_two_clusters_make_one_set():
    eks, aks = Actor("eks", "agents", "support-bot"), Actor("aks", "agents", "support-bot")
    observer = Observer(Catalogue(load_catalogue()))
    observer.observe([syscalls(eks, 1, "read", "openat"), syscalls(aks, 2, "read", "connect"),
                      syscalls(eks, 3, "read", "openat", "sync")])
    profile = observer.profiles()["agents/support-bot"]
    doc = to_dict(profile)
    assert [s["name"] for s in doc["syscalls"]] == ["connect", "openat", "read", "sync"]
    (app, _net) = kubescape.export([profile])[:2]
    assert app["spec"]["containers"][0]["syscalls"] == ["connect", "openat", "read", "sync"]
    assert suggest(doc)["spec"]["syscalls"] == ["connect", "openat", "read", "sync"]
