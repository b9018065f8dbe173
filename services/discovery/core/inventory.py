"""The fleet's inventory as the bus carries it (weft.inventory.v1, weft.profiles.v1):
built from the Observe core's state. Pure; the offline `weft analyze` and the live
service build the same messages from the same events."""
from __future__ import annotations

import json
from typing import Iterable, Mapping

from weft.discovery.core.classify import Discovered, Observer
from weft.discovery.core.profiles import Profile, to_dict
from weft.discovery.core.shadow import Inventory as Declared, find_shadow
from weft.v1 import inventory_pb2

KINDS = {"agent": "agent", "inference_server": "inference-server", "mcp_server": "mcp-server",
         "tool": "tool", "none": "none"}


def entries(found: Iterable[Discovered], declared: Declared,
            profiles: Mapping[str, Profile]) -> list[inventory_pb2.InventoryEntry]:
    """One entry per logical workload that is something (kind none left out), sorted by name."""
    found = sorted((d for d in found if d.kind != "none"), key=lambda d: d.name)
    shadow = {s.name: s for s in find_shadow(found, declared, profiles)}
    out = []
    for d in found:
        c = d.classification
        e = inventory_pb2.InventoryEntry(
            id=d.id, name=d.name, kind=KINDS.get(d.kind, d.kind), confidence=round(c.confidence, 3),
            clusters=d.clusters, evidence=[str(x) for x in c.evidence[:8]])
        e.workloads.extend(inventory_pb2.WorkloadRef(cluster=w.cluster, namespace=w.namespace, name=w.name,
                                                     kind=getattr(w, "kind", ""))
                           for w in sorted(d.workloads, key=str))
        if s := shadow.get(d.name):
            e.shadow, e.shadow_reason = True, s.reason
        out.append(e)
    return out


def inventory(observer: Observer, declared: Declared, graph_json: str = "") -> inventory_pb2.Inventory:
    msg = inventory_pb2.Inventory(entries=entries(observer.inventory(), declared, observer.profiles()),
                                  graph_json=graph_json)
    msg.as_of.seconds = observer.watermark
    return msg


def profile_message(profile: Profile) -> inventory_pb2.AgentProfile:
    doc = to_dict(profile)
    return inventory_pb2.AgentProfile(id=doc["id"], name=doc["agent"], status=doc["status"],
                                      clusters=doc["clusters"],
                                      document_json=json.dumps(doc, sort_keys=True, separators=(",", ":")))


def entry_json(e: inventory_pb2.InventoryEntry) -> dict:
    """An entry as `weft agents --json` prints it."""
    return {"id": e.id, "name": e.name, "kind": e.kind, "confidence": e.confidence,
            "clusters": list(e.clusters), "shadow": e.shadow, "shadowReason": e.shadow_reason,
            "workloads": [{"cluster": w.cluster, "namespace": w.namespace, "name": w.name}
                          for w in e.workloads],
            "evidence": list(e.evidence)}
