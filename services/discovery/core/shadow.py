"""Shadow AI: agents found at runtime that nobody declared, with where they run and what
they reach. Pure logic.

An agent is declared when the inventory file names it (for the clusters it lists, or
anywhere when it lists none), or when one of its workloads carries the label
`weft.dev/declared: "true"`. The inventory file:

    apiVersion: weft.dev/v1
    kind: AgentInventory
    agents:
      - name: agents/support-bot     # <namespace>/<workload>, or a weft.dev/agent label value
        owner: support-team          # optional
        description: answers tickets # optional
        clusters: [eks, aks]         # optional: where it may run; absent means anywhere
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from weft.discovery.core.classify import Discovered
from weft.discovery.core.datafiles import CheckedYamlError, load_checked
from weft.discovery.core.profiles import Behaviour, Profile

API_VERSION, KIND = "weft.dev/v1", "AgentInventory"
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_LABEL_VALUE = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
NAME = re.compile(rf"^({_DNS_LABEL}/[a-z0-9]([-a-z0-9.]{{0,251}}[a-z0-9])?|{_LABEL_VALUE})$")
SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["apiVersion", "kind", "agents"],
    "properties": {
        "apiVersion": {"const": API_VERSION}, "kind": {"const": KIND},
        "agents": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "owner": {"type": "string"}, "description": {"type": "string"},
                "clusters": {"type": "array", "uniqueItems": True, "items": {"type": "string", "minLength": 1}}}}}}}
REACHED = ("egress", "model", "mcp")


class InventoryError(CheckedYamlError):
    """An inventory file that cannot be used; `str()` says file, line, place and why."""


@dataclass(frozen=True)
class DeclaredAgent:
    name: str
    owner: str = ""
    description: str = ""
    clusters: tuple[str, ...] = ()          # empty: anywhere


@dataclass(frozen=True)
class Inventory:
    agents: Mapping[str, DeclaredAgent] = field(default_factory=dict)
    source: str = ""


@dataclass(frozen=True)
class ShadowAgent:
    name: str
    id: str
    reason: str
    clusters: tuple[str, ...]               # where it runs
    workloads: tuple[str, ...]              # cluster/namespace/workload
    reaches: tuple[str, ...]                # egress, models, MCP servers and tools, as printed
    confidence: float
    evidence: tuple[str, ...]               # why it is an agent, strongest first


def load_inventory(path: str | Path) -> Inventory:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InventoryError(f"{path}: {e}") from None
    return parse_inventory(text, str(path))


def parse_inventory(text: str, source: str = "inventory") -> Inventory:
    try:
        doc = load_checked(text, source, SCHEMA, _check_names)
    except CheckedYamlError as e:
        raise InventoryError(str(e)) from None
    return Inventory({a["name"]: DeclaredAgent(a["name"], a.get("owner", ""), a.get("description", ""),
                                               tuple(a.get("clusters", ()))) for a in doc["agents"]}, source)


def _check_names(doc: dict):
    seen: set[str] = set()
    for i, a in enumerate(doc["agents"]):
        if not NAME.match(a["name"]):
            return ["agents", i, "name"], (f"{a['name']!r} is not a logical agent name: <namespace>/<workload>, "
                                           "or a weft.dev/agent label value")
        if a["name"] in seen:
            return ["agents", i, "name"], f"{a['name']!r} is declared twice"
        seen.add(a["name"])
    return None


def find_shadow(found: Iterable[Discovered], inventory: Inventory,
                profiles: Mapping[str, Profile] | None = None) -> list[ShadowAgent]:
    """Every agent found at runtime that the inventory and labels do not declare where it runs."""
    out = []
    for d in found:
        if d.kind != "agent" or d.declared_by_label:
            continue
        declared = inventory.agents.get(d.name)
        if declared is None:
            reason = "not in the declared inventory"
        elif declared.clusters and (undeclared := sorted(set(d.clusters) - set(declared.clusters))):
            reason = f"declared for {', '.join(declared.clusters)} only; also runs in {', '.join(undeclared)}"
        else:
            continue
        c = d.classification
        out.append(ShadowAgent(d.name, d.id, reason, d.clusters, tuple(map(str, d.workloads)),
                               reaches((profiles or {}).get(d.name)), c.confidence,
                               tuple(str(e) for e in c.evidence if e.role == "agent")))
    return out


def reaches(profile: Profile | None) -> tuple[str, ...]:
    """What an agent talks to: destinations with ports, models, MCP servers and tools; and
    names it resolved without a connection seen."""
    if profile is None:
        return ()
    out = [str(Behaviour(kind, key)) for kind in REACHED for key in sorted(profile.items[kind])]
    connected = {key[0] for key in profile.items["egress"]}
    out += [str(Behaviour("dns", key)) for key in sorted(profile.items["dns"]) if key[0] not in connected]
    return tuple(out)
