"""The parts of an AI-BOM, gathered per agent and merged across agents: the packages it
loaded, the models it asked for, the MCP servers it runs itself (stdio) and the services
it calls (model APIs, remote MCP servers, data services, outside endpoints). Built from
Observe's outputs: the agent's classification, its behaviour profile and the execution
graph. Pure logic; everything keyed by its bom-ref so that merging is a union."""
from __future__ import annotations

from dataclasses import dataclass, field

from weft.discovery.core.aibom_packages import Package, command_package, package_at, pypi_versions
from weft.discovery.core.classify import Discovered
from weft.discovery.core.fingerprints import Catalogue
from weft.discovery.core.graph_model import MODEL, Edge, Graph, Node, node_id
from weft.discovery.core.graph_observations import is_local, split_address
from weft.discovery.core.graph_resolve import workload_key
from weft.discovery.core.profiles import Profile

FRAMEWORK_FAMILIES = frozenset({"agent_frameworks"})   # loaded from these: a framework; else a library
LOCAL_VIA = frozenset({"stdio", "local"})


@dataclass
class Method:
    """One piece of evidence: what was seen at runtime and how much it says."""
    confidence: float
    value: str


@dataclass
class Loaded:
    package: Package
    framework: bool = False
    version: str = ""
    methods: dict[str, Method] = field(default_factory=dict)     # per fingerprint


@dataclass
class Model:
    provider: str
    name: str
    hosts: set[str] = field(default_factory=set)


@dataclass
class LocalServer:
    command: str
    transport: str
    clusters: set[str] = field(default_factory=set)
    tools: set[str] = field(default_factory=set)
    loaded: Loaded | None = None


@dataclass
class Service:
    name: str
    zone: str                        # trust zone: the cluster, or "external"
    kind: str                        # the graph node's kind
    provider: str = ""               # a hosted model API's provider
    layers: set[str] = field(default_factory=set)
    endpoints: set[str] = field(default_factory=set)
    crosses: bool = False            # a caller sits in another trust zone
    calls: int = 0
    tools: set[str] = field(default_factory=set)
    models: set[str] = field(default_factory=set)   # bom-refs of the models it was asked for


@dataclass
class Parts:
    packages: dict[str, Loaded] = field(default_factory=dict)          # bom-ref (purl) -> package
    models: dict[str, Model] = field(default_factory=dict)
    local: dict[str, LocalServer] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    uses: dict[str, set[str]] = field(default_factory=dict)            # agent bom-ref -> what it depends on
    latest: int = 0

    def add_agent(self, agent: Discovered, profile: Profile | None, graph: Graph, catalogue: Catalogue) -> None:
        uses = self.uses.setdefault(agent.id, set())
        if profile is not None:
            uses |= self._packages(profile, catalogue) | self._models(profile)
            self.latest = max(self.latest, profile.last_seen)
        tools = {} if profile is None else _tools(profile)
        for ref in agent.workloads:
            caller = graph.by_id.get(node_id(*workload_key(ref)))
            for edge in graph.outgoing(caller.id) if caller else ():
                self.latest = max(self.latest, edge.last_seen)
                uses.add(self._callee(caller, graph.by_id[edge.target], edge, tools))

    def finish(self) -> None:
        """A package an MCP server command runs is that server: its evidence moves there."""
        moved: dict[str, str] = {}
        for ref, server in sorted(self.local.items()):
            pkg = command_package(server.command)
            if pkg is None:
                continue
            found = sorted(r for r, loaded in self.packages.items() if loaded.package == pkg)
            server.loaded = Loaded(pkg, version=self.packages[found[0]].version if found else "")
            for r in found:
                server.loaded.methods.update(self.packages.pop(r).methods)
                moved[r] = ref
        for uses in self.uses.values():
            for r in uses & moved.keys():
                uses.discard(r)
                uses.add(moved[r])

    def _packages(self, profile: Profile, catalogue: Catalogue) -> set[str]:
        opened = sorted(profile.items["open"].items(), key=lambda kv: (kv[1], kv[0]))
        versions = pypi_versions(path for (path,), _ in opened)
        refs = set()
        for (path,), _ in opened:
            hits = catalogue.match("path", path)
            pkg = package_at(path) if hits else None
            if pkg is None:
                continue
            version = versions.get(pkg.name, "") if pkg.ecosystem == "pypi" else ""
            loaded = self.packages.setdefault(pkg.purl(version), Loaded(pkg, version=version))
            for hit in hits:
                loaded.framework |= hit.family in FRAMEWORK_FAMILIES
                old = loaded.methods.get(hit.fingerprint)
                if old is None or hit.weight > old.confidence:
                    loaded.methods[hit.fingerprint] = Method(hit.weight, f"{hit.name}: loaded {path}")
            refs.add(pkg.purl(version))
        return refs

    def _models(self, profile: Profile) -> set[str]:
        refs = set()
        for provider, host, name in sorted(profile.items["model"]):
            if name:
                ref = model_ref(provider, name)
                self.models.setdefault(ref, Model(provider, name)).hosts.add(host)
                refs.add(ref)
        return refs

    def _callee(self, caller: Node, callee: Node, edge: Edge, tools: dict[str, set[str]]) -> str:
        if LOCAL_VIA & set(edge.via):
            ref = f"mcp-stdio/{callee.name}"
            server = self.local.setdefault(ref, LocalServer(callee.name, "stdio" if "stdio" in edge.via else "http"))
            server.clusters.add(callee.cluster)
            server.tools |= tools.get(callee.name, set())
            return ref
        if callee.kind == MODEL:
            host = min({split_address(e)[0] for e in edge.endpoints}, default=callee.provider)
            zone = caller.cluster if is_local(host) else "external"      # a model sidecar stays in its cluster
            ref = f"service/api/{host}" if zone == "external" else f"service/api/{zone}/{host}"
            service = self.services.setdefault(ref, Service(host, zone, MODEL, callee.provider))
            service.models.add(model_ref(callee.provider, callee.name.removeprefix(f"{callee.provider}/")))
        else:
            ref = f"service/{callee.id}"
            zone = callee.cluster or "external"
            service = self.services.setdefault(ref, Service(callee.name, zone, callee.kind))
            hosts = {split_address(e)[0] for e in edge.endpoints}
            service.models |= {r for r, m in self.models.items() if m.hosts & hosts}
        service.layers.add(edge.kind)
        service.endpoints |= set(edge.endpoints)
        service.crosses |= caller.cluster != service.zone
        service.calls += edge.count
        service.tools |= {t for e in edge.endpoints for t in tools.get(e, ())}
        return ref


def model_ref(provider: str, name: str) -> str:
    return f"model/{provider}/{name}" if provider else f"model/{name}"


def _tools(profile: Profile) -> dict[str, set[str]]:
    """MCP server (as the agent named it) -> the tools it called there."""
    out: dict[str, set[str]] = {}
    for server, tool in profile.items["mcp"]:
        if tool:
            out.setdefault(server, set()).add(tool)
    return out
