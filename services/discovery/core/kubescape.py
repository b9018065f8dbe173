"""Behaviour profiles as Kubescape objects: an ApplicationProfile and a NetworkNeighborhood
(spdx.softwarecomposition.kubescape.io/v1beta1) per workload of a logical agent, marked
user-managed so Kubescape's node-agent can use them instead of learning its own. Pure.

Only the baseline goes out (learnt, plus what users accepted); pending deviations do not.
weft learns per logical agent, not per container: each container of a workload carries the
agent's behaviour. Models and MCP calls have no Kubescape field; they ride along as
`weft.dev/` annotations (JSON), which Kubescape ignores.
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
from typing import Iterable

import yaml

from weft.discovery.core.profiles import READY, Behaviour, Profile

API_VERSION = "spdx.softwarecomposition.kubescape.io/v1beta1"
API_GROUPS = {"Deployment": ("apps", "v1"), "StatefulSet": ("apps", "v1"), "DaemonSet": ("apps", "v1"),
              "ReplicaSet": ("apps", "v1"), "Job": ("batch", "v1"), "CronJob": ("batch", "v1"), "Pod": ("", "v1")}
IN_CLUSTER_SUFFIXES = (".svc", ".cluster.local", ".local")


def export(profiles: Iterable[Profile]) -> list[dict]:
    """ApplicationProfile then NetworkNeighborhood for every workload of every profile."""
    out = []
    for p in profiles:
        for ns, kind, name in _workloads(p):
            out += [application_profile(p, ns, kind, name), network_neighborhood(p, ns, kind, name)]
    return out


def to_yaml(objects: Iterable[dict]) -> str:
    return yaml.safe_dump_all(list(objects), sort_keys=False, allow_unicode=True)


def application_profile(p: Profile, namespace: str, kind: str, name: str) -> dict:
    base = p.baseline()
    execs = [{"path": path, "args": list(args)} for path, args in sorted(base["exec"])]
    opens = [{"path": path, "flags": sorted(p.open_flags.get(path, ()))} for (path,) in sorted(base["open"])]
    meta = _metadata(p, namespace, kind, name)
    meta["annotations"]["weft.dev/models"] = json.dumps([Behaviour("model", k).text for k in sorted(base["model"])])
    meta["annotations"]["weft.dev/mcp"] = json.dumps([Behaviour("mcp", k).text for k in sorted(base["mcp"])])
    syscalls = sorted(name for (name,) in base["syscall"])
    containers = [{"name": c, "capabilities": [], "execs": execs, "opens": opens, "syscalls": syscalls,
                   "endpoints": [], "imageID": "", "imageTag": image, "rulePolicies": {},
                   "identifiedCallStacks": []} for c, image in _containers(p, namespace, name)]
    return {"apiVersion": API_VERSION, "kind": "ApplicationProfile", "metadata": meta,
            "spec": {"architectures": [], "containers": containers, "initContainers": [],
                     "ephemeralContainers": []}}


def network_neighborhood(p: Profile, namespace: str, kind: str, name: str) -> dict:
    base = p.baseline()
    containers = [{"name": c, "ingress": _ingress(base["ingress"]), "egress": _egress(p, base)}
                  for c, _ in _containers(p, namespace, name)]
    return {"apiVersion": API_VERSION, "kind": "NetworkNeighborhood",
            "metadata": _metadata(p, namespace, kind, name),
            "spec": {"containers": containers, "initContainers": [], "ephemeralContainers": []}}


def _workloads(p: Profile) -> list[tuple[str, str, str]]:
    return sorted({(ns, kind, name) for _, ns, kind, name in p.workloads})


def _containers(p: Profile, namespace: str, name: str) -> list[tuple[str, str]]:
    images: dict[str, list[str]] = {}
    for ns, workload, container, image in p.containers:
        if (ns, workload) == (namespace, name):
            images.setdefault(container or name, []).append(image)
    return [(c, max(imgs)) for c, imgs in sorted(images.items())] or [(name, "")]


def _metadata(p: Profile, namespace: str, kind: str, name: str) -> dict:
    labels = {"kubescape.io/workload-kind": kind, "kubescape.io/workload-name": name,
              "kubescape.io/workload-namespace": namespace}
    if kind in API_GROUPS:
        group, version = API_GROUPS[kind]
        labels = {"kubescape.io/workload-api-group": group, "kubescape.io/workload-api-version": version} | labels
    return {"name": f"{kind.lower()}-{name}" if kind else name, "namespace": namespace,
            "labels": {k: v for k, v in labels.items() if v},
            "annotations": {"kubescape.io/status": "completed" if p.status == READY else "learning",
                            "kubescape.io/completion": "complete", "kubescape.io/managed-by": "User",
                            "weft.dev/agent": p.agent, "weft.dev/agent-id": p.id,
                            "weft.dev/clusters": ",".join(p.clusters)}}


def _egress(p: Profile, base: dict) -> list[dict]:
    ports: dict[str, set[tuple[str, int]]] = {}
    for name, port, proto in base["egress"]:
        ports.setdefault(name, set()).add((proto, port))
    for (name,) in base["dns"]:
        ports.setdefault(name, set())
    out = []
    for name, ps in sorted(ports.items()):
        if _is_ip(name):
            out.append(_neighbor(_type(name), [], name, ps))
        else:
            for ip in sorted(p.egress_addresses.get(name, ())) or [""]:
                out.append(_neighbor(_type(name), [name + "."], ip, ps))
    return out


def _ingress(items: dict) -> list[dict]:
    ports = {(proto, port) for port, proto in items}
    return [_neighbor("internal", [], "", ports)] if ports else []


def _neighbor(kind: str, dns_names: list[str], ip: str, ports: set[tuple[str, int]]) -> dict:
    port_list = [{"name": f"{proto}-{port}", "protocol": proto, "port": port} for proto, port in sorted(ports)]
    ident = hashlib.sha256(json.dumps([kind, dns_names, ip, port_list]).encode()).hexdigest()
    return {"identifier": ident, "type": kind, "dns": dns_names[0] if dns_names else "", "dnsNames": dns_names,
            "ports": port_list, "podSelector": None, "namespaceSelector": None, "ipAddress": ip}


def _type(name: str) -> str:
    """Kubescape's words: `internal` inside the cluster, `external` outside it."""
    if _is_ip(name):
        return "internal" if ipaddress.ip_address(name).is_private else "external"
    return "internal" if "." not in name or name.endswith(IN_CLUSTER_SUFFIXES) or ".svc." in name else "external"


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False
