"""Intent document -> `ir.Policy`, once: port shorthands become ranges, MCP server and
model endpoints become egress to their host, each provider's context is gathered from
its section and from the selected clusters of that provider."""
from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from weft.enforce.core import intent as model
from weft.enforce.core import ir
from weft.enforce.core.validation import load_file


def load_policy(path: str | Path) -> tuple[ir.Policy, list]:
    """Read, validate and lower one intent file: (policy, warnings)."""
    doc, warnings = load_file(path)
    return lower(doc, str(path)), warnings


def lower(doc: model.AgentPolicyDocument, source: str = "<intent>") -> ir.Policy:
    spec = doc.spec
    sel = spec.selector
    labels = dict(sel.pod_labels) or {ir.DEFAULT_WORKLOAD_LABEL: sel.workload}
    wanted = set(sel.clusters or [c.name for c in spec.clusters])
    clusters = tuple(ir.Cluster(**c.model_dump(exclude_none=True)) for c in spec.clusters if c.name in wanted)
    selector = ir.Selector(sel.namespace, sel.workload, sel.service_account, tuple(sorted(labels.items())),
                           tuple(sel.clusters or ()))
    hosts, networks = _egress(spec)
    return ir.Policy(
        name=doc.metadata.name, source=source, mode=spec.mode, selector=selector, clusters=clusters,
        hosts=hosts, networks=networks,
        executables=tuple(_path(p, f"spec.executables[{i}]") for i, p in enumerate(spec.executables)),
        files=tuple([_path(p, f"spec.files.read[{i}]") for i, p in enumerate(spec.files.read)]
                    + [_path(p, f"spec.files.write[{i}]", write=True) for i, p in enumerate(spec.files.write)]),
        syscalls=tuple(sorted(set(spec.syscalls))),
        mcp=tuple(ir.McpServer(m.server, m.url, tuple(m.tools), f"spec.mcp[{i}]") for i, m in enumerate(spec.mcp)),
        models=tuple((m.name, f"spec.models[{i}]") for i, m in enumerate(spec.models)),
        aws=_aws(spec, clusters, doc.metadata.name), azure=_azure(spec, clusters), gcp=_gcp(spec, clusters),
        labels=dict(doc.metadata.labels))


def _egress(spec: model.Spec) -> tuple[tuple[ir.HostAllow, ...], tuple[ir.NetworkAllow, ...]]:
    hosts: list[ir.HostAllow] = []
    networks: list[ir.NetworkAllow] = []
    for i, rule in enumerate(spec.egress):
        ports = tuple(ir.PortRange(p.port, p.end_port or p.port, p.protocol) for p in rule.ports)
        hosts += [ir.HostAllow(f, ports, f"spec.egress[{i}].fqdns[{j}]") for j, f in enumerate(rule.fqdns)]
        networks += [ir.NetworkAllow(ipaddress.ip_network(c), ports, f"spec.egress[{i}].cidrs[{j}]")
                     for j, c in enumerate(rule.cidrs)]
    endpoints = [(m.url, f"spec.mcp[{i}].url") for i, m in enumerate(spec.mcp)]
    endpoints += [(m.endpoint, f"spec.models[{i}].endpoint") for i, m in enumerate(spec.models) if m.endpoint]
    for url, origin in endpoints:
        host, port = _host_port(url)
        try:
            networks.append(ir.NetworkAllow(ipaddress.ip_network(host), (ir.PortRange(port, port),), origin))
        except ValueError:
            hosts.append(ir.HostAllow(host, (ir.PortRange(port, port),), origin))
    return tuple(hosts), tuple(networks)


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname.lower(), parts.port or (443 if parts.scheme == "https" else 80)


def _path(path: str, origin: str, write: bool = False) -> ir.PathAllow:
    return ir.PathAllow(path, path.endswith("/"), origin, write)


def _one(values: list[str | None]) -> str | None:
    """The value the clusters agree on, or None when they name none or several."""
    found = {v for v in values if v}
    return found.pop() if len(found) == 1 else None


def _aws(spec: model.Spec, clusters: tuple[ir.Cluster, ...], name: str) -> ir.AwsContext | None:
    section = spec.cloud.aws
    eks = tuple(c for c in clusters if c.provider == "aws")
    if section is None and not eks:
        return None
    section = section or model.AwsSection()
    account = section.account_id or _one([c.account_id for c in eks])
    grants = tuple(ir.AwsGrant(tuple(g.actions), tuple(g.resources), f"spec.cloud.aws.allow[{i}]")
                   for i, g in enumerate(section.allow))
    return ir.AwsContext(account, section.role_name or f"weft-{name}", eks, grants)


def _azure(spec: model.Spec, clusters: tuple[ir.Cluster, ...]) -> ir.AzureContext | None:
    section = spec.cloud.azure
    aks = tuple(c for c in clusters if c.provider == "azure")
    if section is None and not aks:
        return None
    section = section or model.AzureSection()
    grants = tuple(ir.AzureGrant(tuple(g.actions), tuple(g.data_actions), tuple(g.scopes),
                                 f"spec.cloud.azure.allow[{i}]") for i, g in enumerate(section.allow))
    return ir.AzureContext(section.identity_name, section.tenant_id or _one([c.tenant_id for c in aks]), aks, grants)


def _gcp(spec: model.Spec, clusters: tuple[ir.Cluster, ...]) -> ir.GcpContext | None:
    section = spec.cloud.gcp
    gke = tuple(c for c in clusters if c.provider == "gcp")
    if section is None and not gke:
        return None
    section = section or model.GcpSection()
    grants = tuple(ir.GcpGrant(tuple(g.roles), tuple(g.permissions), tuple(g.resources), g.project,
                               f"spec.cloud.gcp.allow[{i}]") for i, g in enumerate(section.allow))
    return ir.GcpContext(section.project_id or _one([c.project_id for c in gke]),
                         section.project_number or _one([c.project_number for c in gke]),
                         section.service_account, gke, grants)
