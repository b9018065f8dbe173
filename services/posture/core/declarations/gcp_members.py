"""GCP IAM member strings (policy bindings; audit logs' principalSubject uses the same
syntax) parsed into who they stand for: user:, group:, serviceAccount: (including GKE's
PROJECT.svc.id.goog[NS/KSA]), domain:, deleted:..., allUsers, and the federated
principal:// / principalSet:// identifiers of workload and workforce identity pools."""
from __future__ import annotations

import re
from dataclasses import replace

from weft.posture.core.declarations.model import GcpMember, MemberScope
from weft.posture.core.model import KubernetesSubject

_GKE_ACCOUNT = re.compile(r"^(?P<pool>[^\[\]]+\.svc\.id\.goog)\[(?P<ns>[^/\]]+)/(?P<sa>[^\]]+)\]$")
_POOL = re.compile(r"^(?P<set>principal|principalSet)://iam\.googleapis\.com/"
                   r"(?:projects/(?P<project>[^/]+)/locations/[^/]+/workloadIdentityPools|"
                   r"locations/[^/]+/workforcePools)/(?P<pool>[^/]+)/(?P<rest>.+)$")
_GKE_SUBJECT = re.compile(r"^ns/(?P<ns>[^/]+)/sa/(?P<sa>[^/]+)$")
_PUBLIC = {"allUsers", "allAuthenticatedUsers"}
_EMAIL_KINDS = {"user": MemberScope.ONE, "serviceAccount": MemberScope.ONE, "group": MemberScope.GROUP}
_PROJECT_ROLES = {"projectOwner", "projectEditor", "projectViewer"}

EXPECTED = ("a member such as user:EMAIL, group:EMAIL, serviceAccount:EMAIL, domain:DOMAIN, allUsers, "
            "principal://... or principalSet://...")


def parse_member(raw: str) -> GcpMember | None:
    """The member `raw` names; None when it is not member syntax."""
    if raw in _PUBLIC:
        return GcpMember(raw, raw, MemberScope.PUBLIC)
    if raw.startswith(("principal://", "principalSet://")):
        return _federated(raw)
    kind, sep, value = raw.partition(":")
    if not sep or not value:
        return None
    if kind == "deleted":
        inner = parse_member(value.split("?uid=")[0])
        return None if inner is None else replace(inner, raw=raw, deleted=True)
    if kind == "serviceAccount" and (gke := _GKE_ACCOUNT.match(value)):
        return GcpMember(raw, kind, MemberScope.ONE, email=value, pool=gke["pool"],
                         kubernetes=KubernetesSubject(gke["ns"], gke["sa"]))
    if kind in _EMAIL_KINDS:
        return GcpMember(raw, kind, _EMAIL_KINDS[kind], email=value)
    if kind == "domain":
        return GcpMember(raw, kind, MemberScope.DOMAIN)
    if kind in _PROJECT_ROLES:
        return GcpMember(raw, kind, MemberScope.PROJECT_ROLE)
    return None


def _federated(raw: str) -> GcpMember:
    kind = raw.split(":", 1)[0]
    match = _POOL.match(raw)
    if match is None:   # other principal identifiers (principalSet://goog/..., ...): judged by their kind only
        return GcpMember(raw, kind, MemberScope.ONE if kind == "principal" else MemberScope.GROUP)
    pool, project, rest = match["pool"], match["project"] or "", match["rest"]
    common = {"raw": raw, "kind": kind, "project_number": project, "pool": pool}
    if kind == "principal":
        subject = rest.removeprefix("subject/")
        gke = _GKE_SUBJECT.match(subject) if pool.endswith(".svc.id.goog") else None
        kubernetes = KubernetesSubject(gke["ns"], gke["sa"]) if gke else KubernetesSubject.from_sub(subject)
        return GcpMember(**common, scope=MemberScope.ONE, subject=subject, kubernetes=kubernetes)
    if rest == "*":
        return GcpMember(**common, scope=MemberScope.POOL)
    name, _, value = rest.partition("/")
    if name == "namespace":
        return GcpMember(**common, scope=MemberScope.NAMESPACE, namespace=value)
    scope = {"kubernetes.cluster": MemberScope.CLUSTER,
             "kubernetes.serviceaccount.uid": MemberScope.ONE}.get(name, MemberScope.GROUP)
    return GcpMember(**common, scope=scope, attribute=f"{name.removeprefix('attribute.')}={value}")
