"""The lab's three clusters as data: names, cloud identity, namespaces, addresses and
DNS names. Pure and deterministic: every other lab module derives what it makes from here.

All addresses are inside LAB_SUPERNET (or OUTSIDE_RANGE) and exist only in namespaces the
lab creates; the clusters route only those ranges, so nothing they send can leave the machine."""
from __future__ import annotations

import re
from dataclasses import dataclass

LAB_SUPERNET = "10.77.0.0/16"
ZONE = "lab"
CORE_NETNS = "weft-lab-core"        # the router between clusters; hosts the lab DNS
DNS_ADDRESS = "10.77.0.53"
# "The internet" as the lab sees it: a documentation range (RFC 5737 TEST-NET-3) routed
# to the core namespace, which holds OUTSIDE_ADDRESS itself: a host outside every cluster
# (the demo's exfiltration sink) that is still never off this machine.
OUTSIDE_RANGE = "203.0.113.0/24"
OUTSIDE_ADDRESS = "203.0.113.50"
CGROUP_ROOT = "weft-lab"            # relative to the cgroup2 mount
SYSTEM_CGROUP = f"{CGROUP_ROOT}/_system"   # lab's own processes; "_" never names a cluster
NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")   # a Kubernetes DNS label


@dataclass(frozen=True)
class Cluster:
    name: str
    provider: str
    region: str
    index: int                      # picks the cluster's /24 in LAB_SUPERNET

    @property
    def node(self) -> str:
        return f"{self.name}-node-1"

    @property
    def netns(self) -> str:
        return f"weft-lab-{self.name}"

    @property
    def subnet(self) -> str:
        return f"10.77.{self.index}.0/24"

    @property
    def gateway(self) -> str:
        """The core namespace's address on this cluster's link."""
        return f"10.77.{self.index}.1"

    @property
    def address(self) -> str:
        """The node's address: every workload of the cluster shares it."""
        return f"10.77.{self.index}.10"

    @property
    def egress_ip(self) -> str:
        """What peers see as the source of this cluster's traffic (no NAT in the lab)."""
        return self.address

    @property
    def core_veth(self) -> str:
        return f"lab-{self.name}"   # the core end; the cluster end is eth0

    @property
    def cgroup(self) -> str:
        return f"{CGROUP_ROOT}/{self.name}"

    @property
    def domain(self) -> str:
        return f"{self.name}.{ZONE}"


CLUSTERS: tuple[Cluster, ...] = (
    Cluster("eks", "AWS", "us-east-1", 1),
    Cluster("aks", "AZURE", "westeurope", 2),
    Cluster("gke", "GCP", "us-central1", 3),
)

# Services that exist before any of their processes run, as a Kubernetes Service does:
# (cluster, namespace, workload) of the reference attack's parts.
REFERENCE_SERVICES: tuple[tuple[str, str, str], ...] = (
    ("eks", "agents", "agent"),
    ("eks", "agents", "model"),
    ("aks", "payments", "api"),
    ("aks", "tools", "records-mcp"),
    ("gke", "tools", "storage-mcp"),
)


def cluster(name: str) -> Cluster:
    for c in CLUSTERS:
        if c.name == name:
            return c
    raise KeyError(f"no lab cluster {name!r} (clusters: {', '.join(c.name for c in CLUSTERS)})")


def check_name(kind: str, value: str) -> str:
    if not NAME.match(value):
        raise ValueError(f"{kind} {value!r} is not a DNS label (lowercase letters, digits, '-')")
    return value


def workload_cgroup(cluster_name: str, namespace: str, workload: str) -> str:
    return f"{cluster(cluster_name).cgroup}/{namespace}/{workload}"


def service_name(cluster_name: str, namespace: str, workload: str) -> str:
    return f"{workload}.{namespace}.svc.{cluster(cluster_name).domain}"


def node_name(c: Cluster) -> str:
    return f"{c.node}.{c.domain}"


def static_records() -> dict[str, str]:
    """Names the lab DNS always answers: the DNS itself, nodes, reference services."""
    records = {f"dns.{ZONE}": DNS_ADDRESS}
    records.update({node_name(c): c.address for c in CLUSTERS})
    for cl, ns, wl in REFERENCE_SERVICES:
        records[service_name(cl, ns, wl)] = cluster(cl).address
    return records


def resolv_conf(c: Cluster) -> str:
    return (f"# written by `weft lab up`; removed by `weft lab down`\n"
            f"nameserver {DNS_ADDRESS}\nsearch svc.{c.domain} {c.domain}\n"
            "options timeout:1 attempts:2\n")
