"""The AI-BOM: CycloneDX 1.6 JSON for one agent (`weft aibom AGENT`) or every agent of
the fleet (`weft aibom --all`), from what Observe saw at runtime. Pure logic.

- the agent: an `application` component (the BOM's subject for one agent), with the
  evidence that made it one;
- what it loaded: `framework` (agent frameworks) and `library` components with purls;
- each model it asked for: a `machine-learning-model` component;
- each MCP server it runs itself (stdio): an `application` component it depends on;
- each service it calls (model APIs, remote MCP servers, data services, outside
  endpoints): a service with endpoints, trust zone (its cluster, or `external`), whether
  calling it crosses a trust boundary, and its data flows;
- evidence: technique `instrumentation` (runtime observation), with a confidence.

Deterministic: the timestamp is the latest event time involved, the serial number a
UUIDv5 of the rest of the document, every list sorted. aibom_parts.py gathers the parts.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Iterable, Mapping

from weft import __version__
from weft.discovery.core.aibom_packages import model_purl
from weft.discovery.core.aibom_parts import Loaded, LocalServer, Model, Parts, Service
from weft.discovery.core.agents import resolve
from weft.discovery.core.classify import Discovered
from weft.discovery.core.fingerprints import Catalogue
from weft.discovery.core.graph_model import Graph
from weft.discovery.core.graph_observations import split_address
from weft.discovery.core.profiles import Profile

SCHEMA_URL = "http://cyclonedx.org/schema/bom-1.6.schema.json"
BOM_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://weft.dev/aibom")
TECHNIQUE = "instrumentation"
TOOL_REF = "tool/weft"
DECODED = 0.9        # what decoded traffic names (a model, an MCP server): the caller's own words
FLOWS = {"mcp": (("inbound", "mcp-tool-arguments"), ("outbound", "mcp-tool-results")),
         "llm": (("inbound", "prompts"), ("outbound", "completions")),
         "http": (("inbound", "requests"), ("outbound", "responses")),
         "tcp": (("bi-directional", "unclassified"),)}


def agent_bom(query: str, *, inventory: Iterable[Discovered], profiles: Mapping[str, Profile], graph: Graph,
              catalogue: Catalogue, tool_version: str = __version__) -> dict:
    """The BOM of the one agent `query` names (name, id, short name or unambiguous prefix);
    AgentLookupError when it names none or several."""
    found = list(inventory)
    wanted = resolve(query, [d.name for d in found])
    agent = next(d for d in found if d.id == wanted)
    return _document([agent], agent, profiles, graph, catalogue, tool_version)


def fleet_bom(*, inventory: Iterable[Discovered], profiles: Mapping[str, Profile], graph: Graph,
              catalogue: Catalogue, tool_version: str = __version__) -> dict:
    """One BOM for every agent found."""
    agents = [d for d in inventory if d.kind == "agent"]
    return _document(agents, None, profiles, graph, catalogue, tool_version)


def render_bom(bom: dict) -> str:
    return json.dumps(bom, indent=2, ensure_ascii=False) + "\n"


def _document(agents: list[Discovered], subject: Discovered | None, profiles: Mapping[str, Profile], graph: Graph,
              catalogue: Catalogue, tool_version: str) -> dict:
    parts = Parts()
    for a in sorted(agents, key=lambda d: d.name):
        parts.add_agent(a, profiles.get(a.name), graph, catalogue)
    parts.finish()
    apps = {a.id: _agent(a, profiles.get(a.name)) for a in agents}
    components = [c for ref, c in apps.items() if subject is None or ref != subject.id]
    components += [_package(ref, p) for ref, p in parts.packages.items()]
    components += [_model(ref, m) for ref, m in parts.models.items()]
    components += [_local(ref, s) for ref, s in parts.local.items()]
    services = [_service(ref, s) for ref, s in parts.services.items()]
    depends = {a.id: parts.uses.get(a.id, set()) for a in agents}
    depends |= {ref: s.models for ref, s in parts.services.items()}
    refs = {c["bom-ref"] for c in components} | {s["bom-ref"] for s in services} | set(apps)
    depends = {r: sorted(set(on) & refs) for r, on in depends.items()}
    metadata = {"timestamp": _iso(parts.latest), "lifecycles": [{"phase": "operations"}],
                "tools": {"components": [{"type": "application", "bom-ref": TOOL_REF, "name": "weft",
                                          "version": tool_version,
                                          "description": "runtime security layer for AI agents across clouds"}]}}
    if subject is not None:
        metadata["component"] = apps[subject.id]
    metadata["properties"] = _props(("weft:scope", "agent" if subject is not None else "fleet"))
    body = {"metadata": metadata, "components": sorted(components, key=lambda c: c["bom-ref"]),
            "services": sorted(services, key=lambda s: s["bom-ref"]),
            "dependencies": [{"ref": r, "dependsOn": depends[r]} if depends.get(r) else {"ref": r}
                             for r in sorted(refs)]}
    head = {"$schema": SCHEMA_URL, "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}
    digest = json.dumps(head | body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return head | {"serialNumber": f"urn:uuid:{uuid.uuid5(BOM_NAMESPACE, digest)}"} | body


def _agent(a: Discovered, profile: Profile | None) -> dict:
    images = sorted({c[3] for c in profile.containers if c[3]}) if profile else []
    out = {"type": "application", "bom-ref": a.id, "name": a.name,
           "description": f"{a.kind} observed at runtime in {', '.join(a.clusters)}"}
    said = {}                                   # one method per thing seen, at its strongest
    for e in a.classification.evidence:
        if e.role == a.kind:
            said.setdefault(str(e), e.weight)
    methods = [_method(weight, value) for value, weight in said.items()]
    if methods:
        out["evidence"] = {"identity": [_identity("name", a.classification.confidence, a.name, methods)]}
    out["properties"] = _props(("weft:kind", a.kind), *(("weft:cluster", c) for c in a.clusters),
                               *(("weft:workload", str(w)) for w in a.workloads), *(("weft:image", i) for i in images))
    return out


def _package(ref: str, p: Loaded) -> dict:
    out = {"type": "framework" if p.framework else "library", "bom-ref": ref}
    out |= {"group": p.package.namespace} if p.package.namespace else {}
    out |= {"name": p.package.name} | ({"version": p.version} if p.version else {}) | {"purl": ref}
    out["evidence"] = {"identity": [_package_identity(ref, p)]}
    return out


def _package_identity(purl: str, p: Loaded) -> dict:
    methods = [_method(m.confidence, m.value) for _, m in sorted(p.methods.items())]
    return _identity("purl", max((m.confidence for m in p.methods.values()), default=DECODED), purl, methods)


def _model(ref: str, m: Model) -> dict:
    out = {"type": "machine-learning-model", "bom-ref": ref} | ({"group": m.provider} if m.provider else {})
    out["name"] = m.name
    if purl := model_purl(m.name):
        out["purl"] = purl
    hosts = sorted(h for h in m.hosts if h)
    out["description"] = f"asked for in LLM requests to {', '.join(hosts) or 'a local model'}"
    methods = [_method(DECODED, f"LLM request for {m.name} to {h}") for h in hosts] or [
        _method(DECODED, f"LLM request for {m.name}")]
    out["evidence"] = {"identity": [_identity("name", DECODED, m.name, methods)]}
    provider = [("weft:model-provider", m.provider)] if m.provider else []
    out["properties"] = _props(*provider, *(("weft:model-host", h) for h in hosts))
    return out


def _local(ref: str, s: LocalServer) -> dict:
    pkg = s.loaded.package if s.loaded else None
    out = {"type": "application", "bom-ref": ref} | ({"group": pkg.namespace} if pkg and pkg.namespace else {})
    out["name"] = pkg.name if pkg else s.command
    if s.loaded and s.loaded.version:
        out["version"] = s.loaded.version
    if pkg:
        out["purl"] = pkg.purl(s.loaded.version)
    out["description"] = f"MCP server the agent runs itself ({s.transport}): {s.command}"
    identity = [_identity("name", DECODED, out["name"], [_method(DECODED, f"MCP over {s.transport} to {s.command}")])]
    if s.loaded and s.loaded.methods:
        identity.append(_package_identity(out["purl"], s.loaded))
    out["evidence"] = {"identity": identity}
    out["properties"] = _props(("weft:kind", "mcp_server"), ("weft:mcp-transport", s.transport),
                               *(("weft:cluster", c) for c in sorted(s.clusters)),
                               *(("weft:mcp-tool", t) for t in sorted(s.tools)))
    return out


def _service(ref: str, s: Service) -> dict:
    out = {"bom-ref": ref} | ({"provider": {"name": s.provider}} if s.provider else {})
    out |= {"name": s.name, "description": f"{s.kind} called over {', '.join(sorted(s.layers))}",
            "endpoints": sorted({endpoint_url(e, s.zone == 'external') for e in s.endpoints}),
            "trustZone": s.zone, "x-trust-boundary": s.crosses}
    tools = {"description": f"tools: {', '.join(sorted(s.tools))}"} if s.tools else {}
    out["data"] = [{"flow": flow, "classification": label} | (tools if layer == "mcp" else {})
                   for layer in sorted(s.layers) for flow, label in FLOWS[layer]]
    out["properties"] = _props(("weft:kind", s.kind), ("weft:calls", str(s.calls)),
                               *(("weft:mcp-tool", t) for t in sorted(s.tools)))
    return out


def endpoint_url(value: str, external: bool) -> str:
    """A URL for what a caller addressed: kept when it has a scheme; otherwise https on
    port 443 (or no port, outside the fleet), http elsewhere."""
    if "://" in value:
        return value
    host, port = split_address(value)
    slash = value.find("/")
    path = value[slash:] if slash >= 0 else ""
    if port == 443 or (port == 0 and external):
        return f"https://{host}{path}"
    return f"http://{host}{path}" if port in (0, 80) else f"http://{host}:{port}{path}"


def _identity(field: str, confidence: float, value: str, methods: list[dict]) -> dict:
    return {"field": field, "confidence": round(confidence, 4), "concludedValue": value, "methods": methods,
            "tools": [TOOL_REF]}


def _method(confidence: float, value: str) -> dict:
    return {"technique": TECHNIQUE, "confidence": round(confidence, 4), "value": value}


def _props(*pairs: tuple[str, str]) -> list[dict]:
    return [{"name": n, "value": v} for n, v in pairs]


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
