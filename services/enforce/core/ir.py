"""The typed intermediate form every compiler reads: the intent parsed once, shorthands
expanded (ports, MCP and model endpoints become egress), cluster context resolved per
provider. Every allowed item keeps `origin`, the intent field path it came from, so the
manifest and the equivalence check can point back at the line a user wrote."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["observe", "audit", "enforce"]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_WORKLOAD_LABEL = "app.kubernetes.io/name"


@dataclass(frozen=True)
class PortRange:
    first: int
    last: int
    protocol: Literal["TCP", "UDP"] = "TCP"

    def __str__(self) -> str:
        ports = str(self.first) if self.first == self.last else f"{self.first}-{self.last}"
        return f"{ports}/{self.protocol}"


@dataclass(frozen=True)
class HostAllow:
    """`pattern` as the intent has it: `api.example.com`, `*.example.com` (exactly one
    label more) or `**.example.com` (one or more labels more). No ports: any port."""
    pattern: str
    ports: tuple[PortRange, ...]
    origin: str

    @property
    def wildcard(self) -> Literal["exact", "one_label", "any_depth"]:
        if self.pattern.startswith("**."):
            return "any_depth"
        return "one_label" if self.pattern.startswith("*.") else "exact"

    @property
    def domain(self) -> str:
        """The name below the wildcard (the whole name when exact)."""
        return self.pattern.split(".", 1)[1] if self.wildcard != "exact" else self.pattern


@dataclass(frozen=True)
class NetworkAllow:
    network: Network
    ports: tuple[PortRange, ...]
    origin: str


@dataclass(frozen=True)
class PathAllow:
    """An executable or file path; `prefix` when the intent wrote a directory (`/app/`)."""
    path: str
    prefix: bool
    origin: str
    write: bool = False


@dataclass(frozen=True)
class Selector:
    namespace: str
    workload: str | None
    service_account: str | None
    pod_labels: tuple[tuple[str, str], ...]
    clusters: tuple[str, ...]  # selected by name; empty: any cluster

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.pod_labels)

    @property
    def subject(self) -> str | None:
        """The Kubernetes service account token subject every cloud federates on."""
        return f"system:serviceaccount:{self.namespace}:{self.service_account}" if self.service_account else None


@dataclass(frozen=True)
class Cluster:
    name: str
    provider: Literal["aws", "azure", "gcp"]
    account_id: str | None = None
    region: str | None = None
    oidc_issuer: str | None = None
    tenant_id: str | None = None
    subscription_id: str | None = None
    project_id: str | None = None
    project_number: str | None = None


@dataclass(frozen=True)
class McpServer:
    server: str
    url: str
    tools: tuple[str, ...]
    origin: str


@dataclass(frozen=True)
class AwsGrant:
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    origin: str


@dataclass(frozen=True)
class AwsContext:
    account_id: str | None
    role_name: str
    clusters: tuple[Cluster, ...]  # the selected EKS clusters
    grants: tuple[AwsGrant, ...]


@dataclass(frozen=True)
class AzureGrant:
    actions: tuple[str, ...]
    data_actions: tuple[str, ...]
    scopes: tuple[str, ...]
    origin: str


@dataclass(frozen=True)
class AzureContext:
    identity_name: str | None
    tenant_id: str | None
    clusters: tuple[Cluster, ...]
    grants: tuple[AzureGrant, ...]


@dataclass(frozen=True)
class GcpGrant:
    roles: tuple[str, ...]
    permissions: tuple[str, ...]
    resources: tuple[str, ...]  # empty: the whole project
    project: str | None  # number of the project the resources live in
    origin: str


@dataclass(frozen=True)
class GcpContext:
    project_id: str | None
    project_number: str | None
    service_account: str | None
    clusters: tuple[Cluster, ...]
    grants: tuple[GcpGrant, ...]

    @property
    def pool(self) -> str | None:
        return f"{self.project_id}.svc.id.goog" if self.project_id else None


@dataclass(frozen=True)
class Policy:
    name: str
    source: str
    mode: Mode
    selector: Selector
    clusters: tuple[Cluster, ...]
    hosts: tuple[HostAllow, ...] = ()
    networks: tuple[NetworkAllow, ...] = ()
    executables: tuple[PathAllow, ...] = ()
    files: tuple[PathAllow, ...] = ()
    syscalls: tuple[str, ...] = ()
    syscalls_origin: str = "spec.syscalls"
    mcp: tuple[McpServer, ...] = ()
    models: tuple[tuple[str, str], ...] = ()  # (name, origin)
    aws: AwsContext | None = None
    azure: AzureContext | None = None
    gcp: GcpContext | None = None
    labels: dict[str, str] = field(default_factory=dict)

    def clusters_of(self, provider: str) -> tuple[Cluster, ...]:
        return tuple(c for c in self.clusters if c.provider == provider)

    @property
    def gcp_principal(self) -> str | None:
        """The agent's Workload Identity Federation for GKE principal."""
        gcp, sel = self.gcp, self.selector
        if not (gcp and gcp.project_number and gcp.pool and sel.service_account):
            return None
        return (f"principal://iam.googleapis.com/projects/{gcp.project_number}/locations/global/"
                f"workloadIdentityPools/{gcp.pool}/subject/ns/{sel.namespace}/sa/{sel.service_account}")
