"""The AWS links of a service account: roles named by its IRSA annotation or a Pod
Identity association, and roles the logs show it assumed. Each link's declared side is
the annotation or association plus the trust statements that admit the account; its
observed side is the STS calls that started its sessions; the calls it then made are
joined by the access key id each session was issued."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from weft.posture.core.auditlogs.model import ApiCall, AssumptionMethod, RoleAssumption
from weft.posture.core.chain.clusters import NOT_CHECKED, Clusters
from weft.posture.core.chain.evidence import declared, grouped, outcome
from weft.posture.core.chain.inventory import Inventory
from weft.posture.core.chain.model import Evidence, Link, LinkFacts, LinkStatus, Via
from weft.posture.core.chain.trust import WebIdentityTrust, matches_action, oidc_issuer, web_identity_trusts
from weft.posture.core.declarations.model import (AwsPolicy, AwsRole, Effect, LinkKind, PodIdentityAssociation,
                                                  PolicyStatement)
from weft.posture.core.identifiers import role_name, role_of_session
from weft.posture.core.model import Cloud, Declaration, KubernetesSubject

POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"


@dataclass
class _Role:
    arn: str
    via: Via
    parent: str
    declared: list[Evidence]
    assumptions: list[RoleAssumption]


def aws_links(subject: KubernetesSubject, inventory: Inventory, clusters: Clusters) -> list[tuple[Link, LinkFacts]]:
    account = (subject.namespace, subject.service_account)
    roles: dict[str, _Role] = {}
    for link in inventory.annotations.get(account, []):
        if link.kind is LinkKind.IRSA:
            role = roles.setdefault(link.target, _Role(link.target, Via.IRSA, subject.sub, [], []))
            role.declared.append(declared("ServiceAccount annotation eks.amazonaws.com/role-arn", link))
    for association in _associations(subject, inventory):
        _associate(roles, subject, association)
    for assumption in _assumptions(subject, inventory, clusters):
        via, parent = _how(assumption, subject)
        roles.setdefault(assumption.role_arn, _Role(assumption.role_arn, via, parent, [], [])
                         ).assumptions.append(assumption)
    return [_link(role, subject, inventory, clusters) for _, role in sorted(roles.items())]


def role_grants(arn: str, inventory: Inventory) -> tuple[list[Declaration], list[str]]:
    """The role and the policies that grant it permissions; names of policies it has
    that are not in the inputs."""
    roles = inventory.roles.get(arn, [])
    grants: list[Declaration] = [r for r in roles if r.permissions]
    name = role_name(arn)
    grants += [p for p in inventory.policies_by_role.get(name, []) if not _duplicate(p, grants)]
    missing = [] if roles else [f"role {arn} is not in the inputs"]
    for attached in sorted({a for r in roles for a in r.attached_policy_arns}):
        found = inventory.policies_by_arn.get(attached, [])
        grants += found[:1]
        if not found:
            missing.append(f"attached policy {attached} is not in the inputs")
    return grants, missing


def _link(role: _Role, subject: KubernetesSubject, inventory: Inventory,
          clusters: Clusters) -> tuple[Link, LinkFacts]:
    declared_by = list(role.declared)
    disagreements: list[str] = []
    if role.via is Via.IRSA:
        trusts = [t for r in inventory.roles.get(role.arn, []) for t in web_identity_trusts(r)]
        admitting = [t for t in trusts if t.admits(subject.sub) and clusters.admits(subject.cluster, t.issuer)]
        declared_by += [declared(f"trust statement {_name(t)} admits {subject.sub} from {t.issuer}", t.role)
                        for t in admitting]
        disagreements += _trust_disagreements(role, subject, admitting, inventory, clusters)
    elif role.parent == subject.sub and role.declared and (found := inventory.roles.get(role.arn)) and not any(
            _admits_pods(s) for r in found for s in r.trust):
        disagreements.append(f"the trust policy of {role.arn} does not let {POD_IDENTITY_PRINCIPAL} assume it")
    succeeded = [a for a in role.assumptions if a.success]
    if role.assumptions and not role.declared:
        verb = "assumed" if succeeded else "tried to assume"
        disagreements.append(f"{subject.sub} {verb} {role.arn} but no annotation or association names it")
    if failed := [a for a in role.assumptions if not a.success]:
        codes = sorted({a.error_code or "failed" for a in failed})
        disagreements.append(f"{len(failed)} role session(s) failed to start ({', '.join(codes)})")
    status = (LinkStatus.CONFIRMED if role.declared and succeeded else LinkStatus.DECLARED if role.declared
              else LinkStatus.OBSERVED if succeeded else LinkStatus.ATTEMPTED)
    evidence = declared_by + grouped(role.assumptions, lambda a: f"{_call_name(a)} {outcome(a.success)}")
    grants, missing = role_grants(role.arn, inventory)
    calls, note = _calls(role, succeeded, inventory)
    if note:
        disagreements.append(note)
    link = Link(Cloud.AWS, role.arn, role.via, role.parent, status, tuple(evidence), tuple(disagreements),
                aliases=tuple(sorted({("session", a.session_arn) for a in succeeded if a.session_arn})))
    return link, LinkFacts(grants=tuple(grants), calls=tuple(calls), missing=tuple(missing))


def _trust_disagreements(role: _Role, subject: KubernetesSubject, admitting: list[WebIdentityTrust],
                         inventory: Inventory, clusters: Clusters) -> list[str]:
    if not role.declared:
        return []
    if not inventory.roles.get(role.arn):
        return [f"the trust policy of {role.arn} is not in the inputs: not checked"]
    out = []
    if not admitting:
        out.append(f"no trust statement of {role.arn} admits {subject.sub}"
                   + (f" from {clusters.issuer(subject.cluster)}" if clusters.checked(subject.cluster) else ""))
    elif not clusters.checked(subject.cluster):
        out.append(NOT_CHECKED.format(cluster=subject.cluster or "the service account's cluster"))
    return out


def _admits_pods(s: PolicyStatement) -> bool:
    """An Allow for sts:AssumeRole to the EKS Pod Identity service (EKS User Guide, "Create
    IAM role with trust policy required by EKS Pod Identity")."""
    return s.effect is Effect.ALLOW and any(matches_action(a, "sts:AssumeRole") for a in s.actions) and any(
        p.kind == "Service" and p.value == POD_IDENTITY_PRINCIPAL for p in s.principals)


def _associate(roles: dict[str, _Role], subject: KubernetesSubject, association: PodIdentityAssociation) -> None:
    role = roles.setdefault(association.role_arn,
                            _Role(association.role_arn, Via.POD_IDENTITY, subject.sub, [], []))
    role.declared.append(declared(f"Pod Identity association {association.association_id or ''}".strip(),
                                  association))
    if association.target_role_arn:
        target = roles.setdefault(association.target_role_arn, _Role(
            association.target_role_arn, Via.POD_IDENTITY, association.role_arn, [], []))
        target.declared.append(declared("Pod Identity association targetRoleArn", association))


def _associations(subject: KubernetesSubject, inventory: Inventory) -> Iterable[PodIdentityAssociation]:
    return (a for a in inventory.associations.get((subject.namespace, subject.service_account), [])
            if not subject.cluster or a.subject.cluster == subject.cluster)


def _assumptions(subject: KubernetesSubject, inventory: Inventory, clusters: Clusters) -> Iterable[RoleAssumption]:
    """Session starts of the account in its cluster: by the token's issuer (IRSA), by the
    eks-cluster-name session tag (Pod Identity, and sessions chained from it)."""
    for a in inventory.assumptions.get((subject.namespace, subject.service_account), []):
        if a.identity_provider:
            if clusters.admits(subject.cluster, oidc_issuer(a.identity_provider)):
                yield a
        elif not subject.cluster or not a.kubernetes or a.kubernetes.cluster in ("", subject.cluster):
            yield a


def _how(a: RoleAssumption, subject: KubernetesSubject) -> tuple[Via, str]:
    """How a session start reached its role, and from which identity: a role chained
    from another session has that session's role as parent."""
    if a.method is AssumptionMethod.ROLE and (caller := role_of_session(a.caller)):
        return (Via.POD_IDENTITY if a.session_tags.get("kubernetes-namespace") else Via.IRSA), caller
    return (Via.POD_IDENTITY if a.method is AssumptionMethod.POD_IDENTITY else Via.IRSA), subject.sub


def _calls(role: _Role, sessions: list[RoleAssumption], inventory: Inventory) -> tuple[list[ApiCall], str]:
    """The calls made with this service account's sessions of the role. When the logs
    hold no session start of it at all, a declared link is credited with the role's
    calls that no other session start claims, and says so."""
    keys = sorted({a.access_key_id for a in sessions if a.role_arn == role.arn and a.access_key_id})
    if keys:
        return [c for k in keys for c in inventory.aws_calls_by_key.get(k, [])], ""
    if role.assumptions or not role.declared:
        return [], ""
    claimed = inventory.session_keys()
    calls = [c for c in inventory.aws_calls_by_role.get(role.arn, []) if c.access_key_id not in claimed]
    if not calls:
        return [], ""
    return calls, f"calls of {role.arn} attributed by role: the logs hold no session start to join them on"


def _name(trust: WebIdentityTrust) -> str:
    return trust.statement.sid or str(trust.role.trust.index(trust.statement) + 1)


def _call_name(a: RoleAssumption) -> str:
    return {AssumptionMethod.IRSA: "AssumeRoleWithWebIdentity", AssumptionMethod.WEB_IDENTITY:
            "AssumeRoleWithWebIdentity", AssumptionMethod.POD_IDENTITY: "AssumeRole for Pod Identity"
            }.get(a.method, "AssumeRole")


def _duplicate(policy: AwsPolicy, grants: list[Declaration]) -> bool:
    return any(isinstance(g, AwsRole) and set(policy.statements) <= set(g.permissions) for g in grants)
