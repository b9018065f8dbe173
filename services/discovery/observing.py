"""discovery's Observe state: the Observe core fed from the event consumer, kept in
the store across restarts, and published when it changes (weft.inventory.v1,
weft.profiles.v1.<agent>). The logic is the core's; this holds and ships it."""
from __future__ import annotations

import hashlib
import json
import logging
import threading

from weft.common import durations
from weft.discovery.core import aibom, graph_page, graph_render
from weft.discovery.core import inventory as inv
from weft.discovery.core.classify import Observer
from weft.discovery.core.fingerprints import Catalogue, load_catalogue
from weft.discovery.core.graph import ExecutionGraph
from weft.discovery.core.profiles import LearningWindow, Profile, accept, from_dict, to_dict
from weft.discovery.core.shadow import Inventory, load_inventory
from weft.v1 import inventory_pb2

log = logging.getLogger(__name__)


def observer_for(fingerprints: list[str], learning_window: str, learning_quiet: str) -> Observer:
    window = LearningWindow(int(durations.seconds(learning_window)),
                            int(durations.seconds(learning_quiet)) if learning_quiet else None)
    return Observer(Catalogue(load_catalogue(fingerprints)), window)


def declared(inventory_file: str) -> Inventory:
    return load_inventory(inventory_file) if inventory_file else Inventory()


class Observing:
    """Thread-safe: the consumer observes in a worker thread, the API reads."""

    def __init__(self, observer: Observer, declared_inventory: Inventory):
        self.observer, self.declared = observer, declared_inventory
        self.graph = ExecutionGraph()
        self._lock = threading.Lock()
        self._published: dict[str, str] = {}     # subject key -> digest of what was last shipped
        self._stored_entries: dict[str, inventory_pb2.InventoryEntry] = {}

    def observe(self, events) -> None:
        with self._lock:
            self.observer.observe(events)
            self.graph.add(events)

    def restore(self, profiles: list[dict], entries: list[inventory_pb2.InventoryEntry]) -> None:
        """After a restart: stored profiles merged back, stored entries shown until seen again."""
        with self._lock:
            for doc in profiles:
                self.observer.load(from_dict(doc))
            self._stored_entries = {e.id: e for e in entries}

    def inventory(self) -> inventory_pb2.Inventory:
        with self._lock:
            msg = inv.inventory(self.observer, self.declared, self._graph_json())
        live = {e.id for e in msg.entries}
        msg.entries.extend(e for i, e in sorted(self._stored_entries.items()) if i not in live)
        return msg

    def profiles(self) -> dict[str, Profile]:
        with self._lock:
            return self.observer.profiles()

    def profile_docs(self) -> dict[str, dict]:
        with self._lock:
            return {name: to_dict(p) for name, p in self.observer.profiles().items()}

    def accept(self, name: str, selectors: list[str] | None) -> dict:
        with self._lock:
            profile = self.observer.profiles().get(name)
            if profile is None:
                raise KeyError(name)
            self.observer.load(accept(profile, selectors))
            return to_dict(self.observer.profiles()[name])

    def changes(self) -> tuple[inventory_pb2.Inventory | None, list[inventory_pb2.AgentProfile]]:
        """What differs from what was last shipped: the inventory (or None) and profiles."""
        inventory = self.inventory()
        with self._lock:
            profiles = [inv.profile_message(p) for p in self.observer.profiles().values()]
        out_inv = inventory if self._changed("inventory", inventory.SerializeToString(deterministic=True)) else None
        return out_inv, [p for p in profiles if self._changed(p.id, p.document_json.encode())]

    def forget_published(self) -> None:
        """Ship everything again next time (the last round failed part-way)."""
        self._published.clear()

    def _changed(self, key: str, payload: bytes) -> bool:
        digest = hashlib.blake2b(payload, digest_size=16).hexdigest()
        if self._published.get(key) == digest:
            return False
        self._published[key] = digest
        return True

    def graph_text(self, fmt: str) -> str | None:
        """The graph as json, dot or mermaid text; None for another format."""
        if fmt not in graph_render.RENDERERS:
            return None
        with self._lock:
            return graph_render.render(self._graph(), fmt)

    def graph_page(self) -> str:
        with self._lock:
            return graph_page.render_page(self._graph())

    def aibom(self, name: str | None) -> dict:
        """CycloneDX 1.6: one agent's (by exact name), or the fleet's (None)."""
        with self._lock:
            kw = dict(inventory=self.observer.inventory(), profiles=self.observer.profiles(),
                      graph=self._graph(), catalogue=self.observer.catalogue)
            return aibom.agent_bom(name, **kw) if name else aibom.fleet_bom(**kw)

    def _graph(self):
        return self.graph.snapshot(self.observer.inventory())

    def _graph_json(self) -> str:
        return json.dumps(graph_render.to_json(self._graph()), sort_keys=True)
