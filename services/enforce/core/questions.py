"""The questions an intent answers, as plain data: 'may the agent connect to this host on
this port?', 'run this binary?', 'call this AWS action on this resource?'. Each case
probes one allowed item of the intent, or a near miss of it (a sibling subdomain, the
address beside a CIDR, another port, another action of the same service, another
service account), and says which dimension it varies so an evaluator that cannot see
that dimension (a VPC-SC perimeter cannot see buckets) can decline it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True)
class HostEgress:
    host: str
    port: int
    protocol: str = "TCP"


@dataclass(frozen=True)
class IpEgress:
    ip: str
    port: int
    protocol: str = "TCP"


@dataclass(frozen=True)
class Exec:
    path: str


@dataclass(frozen=True)
class FileAccess:
    path: str
    write: bool


@dataclass(frozen=True)
class Syscall:
    name: str


@dataclass(frozen=True)
class AwsCall:
    action: str
    resource: str


@dataclass(frozen=True)
class AzureCall:
    action: str
    scope: str
    data: bool  # a dataAction (data plane) rather than an action


@dataclass(frozen=True)
class GcpCall:
    principal: str
    resource: str
    project: str  # number of the project holding the resource
    role: str | None = None
    permission: str | None = None


@dataclass(frozen=True)
class Federation:
    """May a Kubernetes service account token from this cluster act as the agent's cloud identity?"""
    provider: str
    cluster: str
    issuer: str
    subject: str
    audience: str
    identity: str = ""  # the cloud identity asked for, where the provider names one (Azure)


@dataclass(frozen=True)
class Enforcing:
    """Does the target block what it does not allow (rather than only log it)?"""


Question = Union[HostEgress, IpEgress, Exec, FileAccess, Syscall, AwsCall, AzureCall, GcpCall, Federation, Enforcing]


@dataclass(frozen=True)
class Case:
    question: Question
    origin: str  # the intent field this probes
    varies: str  # "" for the allowed item itself; else the dimension the near miss changes
    why: str

    def __str__(self) -> str:
        return f"{describe(self.question)} ({self.why}; {self.origin})"


def describe(q: Question) -> str:
    match q:
        case HostEgress(host, port, proto) | IpEgress(host, port, proto):
            return f"egress to {host}:{port}/{proto}"
        case Exec(path):
            return f"run {path}"
        case FileAccess(path, write):
            return f"{'write' if write else 'read'} {path}"
        case Syscall(name):
            return f"syscall {name}"
        case AwsCall(action, resource):
            return f"AWS {action} on {resource}"
        case AzureCall(action, scope, data):
            return f"Azure {'dataAction' if data else 'action'} {action} at {scope}"
        case GcpCall(principal, resource, project, role, permission):
            who = principal.rsplit("/subject/", 1)[-1]
            return f"GCP {role or permission} on {resource} (project {project}) for {who}"
        case Federation(provider, cluster, issuer, subject, audience, _):
            return f"{provider} federation from {cluster} ({issuer}) for {subject}, audience {audience}"
        case Enforcing():
            return "blocks what it does not allow"
    return repr(q)
