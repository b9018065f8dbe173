"""Whether a GCP IAM member admits a Kubernetes service account or an AWS role's
sessions, and which workload identity pool it does that through (IAM docs, "Principal
identifiers"; "Workload Identity Federation with Kubernetes"; "... with AWS").

A member admits one identity (`principal://.../subject/...`, GKE's
`serviceAccount:PROJECT.svc.id.goog[NS/KSA]`) or a set (`principalSet://.../namespace/NS`,
`.../kubernetes.cluster/URL`, `.../attribute.NAME/VALUE`, a whole pool `/*`). A pool
belongs to a cluster through its providers' issuers (GKE's PROJECT.svc.id.goog pool to
the project's GKE clusters); where weft does not know the cluster's issuer, a pool is
taken to hold the account only when its providers trust no other issuer."""
from __future__ import annotations

import re
from dataclasses import dataclass

from weft.posture.core.chain.clusters import Clusters
from weft.posture.core.chain.trust import normalise_issuer
from weft.posture.core.declarations.model import GcpMember, MemberScope, WorkloadIdentityPoolProvider
from weft.posture.core.model import KubernetesSubject

GKE_POOL = ".svc.id.goog"
_GKE_ISSUER = re.compile(r"^container\.googleapis\.com/v1/projects/(?P<project>[^/]+)/")
_ASSUMED_ROLE = re.compile(r"^arn:aws[a-z-]*:sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)(?:/.*)?$")


@dataclass(frozen=True)
class Admission:
    pool: str
    project_number: str
    exact: bool            # the member names this identity alone


class Pools:
    """Providers by pool, for issuer checks; `used` are the pools the logs show a
    service account's tokens exchanged in (a pool it certainly belongs to)."""

    def __init__(self, providers: list[WorkloadIdentityPoolProvider], clusters: Clusters):
        self.clusters = clusters
        self.by_pool: dict[str, list[WorkloadIdentityPoolProvider]] = {}
        for p in providers:
            self.by_pool.setdefault(p.pool, []).append(p)

    def holds(self, pool: str, subject: KubernetesSubject, used: frozenset[str] = frozenset()) -> bool | None:
        """Whether tokens of the subject's cluster are trusted by the pool; None: unknown."""
        if pool in used:
            return True
        issuer = self.clusters.issuer(subject.cluster)
        if pool.endswith(GKE_POOL):
            gke = _GKE_ISSUER.match(issuer)
            return None if not issuer else gke is not None and f"{gke['project']}{GKE_POOL}" == pool
        providers = self.by_pool.get(pool, [])
        trusted = {normalise_issuer(p.issuer_uri) for p in providers if p.protocol == "oidc"}
        if providers and not trusted:
            return False                  # no OIDC provider: no Kubernetes token gets in
        return None if not issuer or not trusted else issuer in trusted

    def exchanged_here(self, provider: str, subject: KubernetesSubject) -> bool:
        """Whether a token exchange through `provider` can be the subject's: not when the
        provider trusts another issuer than the subject's cluster's (both known)."""
        issuer = self.clusters.issuer(subject.cluster)
        found = [p for ps in self.by_pool.values() for p in ps if p.name == provider and p.protocol == "oidc"]
        return not issuer or not found or any(normalise_issuer(p.issuer_uri) == issuer for p in found)

    def aws_accounts(self, pool: str) -> set[str]:
        return {p.aws_account_id for p in self.by_pool.get(pool, []) if p.protocol == "aws"}


def admits_subject(member: GcpMember, subject: KubernetesSubject, pools: Pools,
                   used: frozenset[str] = frozenset()) -> Admission | None:
    """An exact member or a namespace set is taken unless the pool is known to be another
    cluster's; a whole pool or cluster only when the pool is known to hold the account."""
    pool = member.pool
    if member.deleted or not pool:
        return None
    holds = pools.holds(pool, subject, used)
    if holds is False:
        return None
    kubernetes = member.kubernetes
    if kubernetes is not None:
        same = (kubernetes.namespace, kubernetes.service_account) == (subject.namespace, subject.service_account)
        return Admission(pool, member.project_number, True) if same else None
    name, _, value = member.attribute.partition("=")
    if (member.scope is MemberScope.NAMESPACE and member.namespace == subject.namespace) or (
            "namespace" in name and value == subject.namespace):
        return Admission(pool, member.project_number, False)
    if member.scope is MemberScope.POOL and holds:
        return Admission(pool, member.project_number, False)
    if member.scope is MemberScope.CLUSTER and normalise_issuer(value) == pools.clusters.issuer(subject.cluster):
        return Admission(pool, member.project_number, False)
    return None


def admits_role(member: GcpMember, role_arn: str, pools: Pools) -> Admission | None:
    """Members that stand for the sessions of an IAM role, through a pool with an AWS provider."""
    account, role = role_key(role_arn)
    if member.deleted or not member.pool or not account:
        return None
    if member.scope is MemberScope.POOL and account in pools.aws_accounts(member.pool):
        return Admission(member.pool, member.project_number, False)
    value = member.subject or member.attribute.partition("=")[2]
    session = _ASSUMED_ROLE.match(value)
    if session and (session["account"], session["role"]) == (account, role):
        return Admission(member.pool, member.project_number, "=" in member.attribute or bool(member.subject))
    return None


def role_of_session_subject(subject: str) -> tuple[str, str]:
    """arn:aws:sts::ACCOUNT:assumed-role/ROLE[/SESSION] -> (ACCOUNT, ROLE); ("", "") otherwise."""
    match = _ASSUMED_ROLE.match(subject)
    return (match["account"], match["role"]) if match else ("", "")


def role_key(role_arn: str) -> tuple[str, str]:
    parts = role_arn.split(":")
    if len(parts) < 6 or not parts[5].startswith("role/"):
        return "", ""
    return parts[4], parts[5].rsplit("/", 1)[-1]


def principal(project_number: str, pool: str, subject: str) -> str:
    return (f"principal://iam.googleapis.com/projects/{project_number}/locations/global/"
            f"workloadIdentityPools/{pool}/subject/{subject}")


def pool_subject(pool: str, subject: KubernetesSubject) -> str:
    """The subject a pool maps the service account's token to (GKE: ns/NS/sa/KSA;
    others: the token's `sub`, with google.subject=assertion.sub as the docs map it)."""
    if pool.endswith(GKE_POOL):
        return f"ns/{subject.namespace}/sa/{subject.service_account}"
    return subject.sub
