"""Identity chains, typed: one Kubernetes service account (and the agent that runs as
it) and the cloud identities it becomes — an AWS role, an Azure app or managed identity,
a GCP principal or service account — each link with the declarations and log records
that show it, and where the two disagree.

A chain is published as it is (`weft.identity.v1`); the facts behind each link (the
grants that apply to it and the calls it made) travel beside it in `ResolvedChain` for
the findings, and are not published."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from weft.posture.core.auditlogs.model import ApiCall, AzureSignIn
from weft.posture.core.declarations.model import AzureRoleDefinition
from weft.posture.core.model import Cloud, Declaration, KubernetesSubject

CHAIN_ID_PREFIX = "ch-"


class LinkStatus(StrEnum):
    CONFIRMED = "confirmed"        # declared, and the logs show it used
    DECLARED = "declared"          # declared, never seen used in the logs
    OBSERVED = "observed"          # seen used in the logs, not (or not fully) declared
    ATTEMPTED = "attempted"        # only failed attempts in the logs, not declared


class Via(StrEnum):
    """How the identity is reached from the link before it."""
    IRSA = "irsa"                                   # eks.amazonaws.com/role-arn + an OIDC trust
    POD_IDENTITY = "pod_identity"                   # an EKS Pod Identity association
    AZURE_WORKLOAD_IDENTITY = "azure_workload_identity"  # client-id annotation + federated credential
    OIDC_FEDERATION = "oidc_federation"             # a GCP pool trusting the cluster's issuer
    GKE_WORKLOAD_IDENTITY = "gke_workload_identity"  # GKE's PROJECT.svc.id.goog pool
    AWS_FEDERATION = "aws_federation"               # a GCP pool trusting the AWS role's sessions
    IMPERSONATION = "impersonation"                 # a Google service account the principal acts as


@dataclass(frozen=True)
class Evidence:
    """One declaration, or a group of log records of one kind (count, first, last)."""
    kind: str                      # "declaration" | "observation"
    what: str                      # what it is, as users read it
    source: str                    # file:line#pointer (for a group: its first record)
    count: int = 1
    first: str = ""                # event times, RFC 3339 (observations only)
    last: str = ""


@dataclass(frozen=True)
class Link:
    cloud: Cloud
    identity: str                  # role ARN | client id | principal:// or member | service account email
    via: Via
    parent: str                    # the identity before it (the service account's `sub` for the first)
    status: LinkStatus
    evidence: tuple[Evidence, ...] = ()
    disagreements: tuple[str, ...] = ()
    aliases: tuple[tuple[str, str], ...] = ()   # other names of the identity: (kind, value), sorted


@dataclass(frozen=True)
class IdentityChain:
    agent: str                     # <namespace>/<workload>; "" for a service account no agent runs as
    subject: KubernetesSubject
    links: tuple[Link, ...]

    @property
    def id(self) -> str:
        return chain_id(self.agent, self.subject)


def chain_id(agent: str, subject: KubernetesSubject) -> str:
    """Content-derived: the same agent and service account give the same id everywhere."""
    key = "\0".join((agent, subject.cluster, subject.namespace, subject.service_account))
    return CHAIN_ID_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class AgentIdentity:
    """Who runs as which service account: the input chains start from."""
    agent: str
    subject: KubernetesSubject


@dataclass(frozen=True)
class LinkFacts:
    """What findings judge a link by: the grants that apply to its identity, the calls
    it made (every result), its sign-ins, and grants named but absent from the inputs."""
    grants: tuple[Declaration, ...] = ()          # AwsRole/AwsPolicy | AzureRoleAssignment | GcpBinding
    definitions: tuple[AzureRoleDefinition, ...] = ()
    calls: tuple[ApiCall, ...] = ()
    sign_ins: tuple[AzureSignIn, ...] = ()
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResolvedChain:
    chain: IdentityChain
    facts: tuple[LinkFacts, ...]   # one per link, in the chain's order
