"""Federation gaps on GCP: a workload identity pool provider that trusts a whole AWS
account (an AWS provider with no attribute condition admits every role and user of the
account: IAM docs, "Configure Workload Identity Federation with AWS"), an OIDC provider
that accepts another cloud's token-exchange audience, and a binding whose member is a
set of Kubernetes identities (a namespace, a cluster, a whole pool, an attribute value)
where one principal would do."""
from __future__ import annotations

from typing import TYPE_CHECKING

from weft.posture.core.chain.evidence import declared, observed
from weft.posture.core.chain.gcp_admission import GKE_POOL, role_of_session_subject
from weft.posture.core.chain.inventory import Inventory
from weft.posture.core.declarations.model import GcpBinding, GcpMember, MemberScope, WorkloadIdentityPoolProvider
from weft.posture.core.findings.audiences import foreign_to
from weft.posture.core.findings.model import Finding, Fix, Kind, Severity

_SETS = {MemberScope.NAMESPACE: ("every service account of a namespace", Severity.MEDIUM),
         MemberScope.CLUSTER: ("every service account of a cluster", Severity.HIGH),
         MemberScope.POOL: ("every identity of the pool", Severity.HIGH),
         MemberScope.GROUP: ("every identity with an attribute value", Severity.MEDIUM)}

if TYPE_CHECKING:
    from weft.posture.core.findings.federation import Owners


def gcp_gaps(inventory: Inventory, owners: Owners) -> list[Finding]:
    found = []
    aws_pools = {p.pool for p in inventory.providers if p.protocol == "aws"}
    for p in sorted(inventory.providers, key=lambda p: p.name):
        if p.protocol == "aws" and not p.attribute_condition and not p.disabled:
            found.append(_account_wide(p, inventory, owners))
        shared = [a for a in p.allowed_audiences if foreign_to("gcp", a)]
        if p.protocol == "oidc" and shared:
            own = f"//iam.googleapis.com/{p.name}"
            found.append(Finding(Kind.OPEN_AUDIENCE, Severity.MEDIUM, _chain(owners, p.pool), p.name,
                                 f"{p.name} accepts tokens minted for another cloud's exchange ({', '.join(shared)})",
                                 "", (declared("allowedAudiences of the provider", p),),
                                 {"audiences": list(p.allowed_audiences)},
                                 Fix(f"Accept only the provider's own audience {own}", "gcp_wif_provider",
                                     ({"name": p.name, "oidc": {"issuerUri": p.issuer_uri,
                                                                "allowedAudiences": [own]}},))))
    for binding in inventory.bindings:
        for member in binding.members:
            if (member.pool and member.pool not in aws_pools and member.scope in _SETS and not member.deleted
                    and "/workforcePools/" not in member.raw and not _one_role(member)):
                found.append(_set_member(binding, member, owners))
    return found


def _account_wide(p: WorkloadIdentityPoolProvider, inventory: Inventory, owners: Owners) -> Finding:
    exchanges = [x for x in inventory.exchanges if x.pool == p.pool and x.success]
    roles = sorted({f"arn:aws:sts::{account}:assumed-role/{role}/" for x in exchanges
                    for account, role in [role_of_session_subject(x.subject)] if account})
    whole = [f"{b.role} on {b.resource or 'the policy resource'}" for b in inventory.bindings
             for m in b.members if m.pool == p.pool and m.scope is MemberScope.POOL]
    evidence = (declared(f"AWS provider for account {p.aws_account_id} without attributeCondition", p),)
    if (used := observed(f"token exchanges in {p.pool}", exchanges)) is not None:
        evidence += (used,)
    condition = " || ".join(f"assertion.arn.startsWith('{r}')" for r in roles)
    fix = (Fix(f"Admit only the role sessions that exchange tokens: attributeCondition {condition}",
               "gcp_wif_provider", ({"name": p.name, "attributeCondition": condition},)) if roles else
           Fix("Set an attributeCondition that names the roles allowed to exchange tokens"))
    return Finding(Kind.ACCOUNT_WIDE_POOL, Severity.CRITICAL if whole else Severity.HIGH, _chain(owners, p.pool),
                   p.name, f"{p.name} trusts every role and user of AWS account {p.aws_account_id}", "", evidence,
                   {"account": p.aws_account_id, "pool": p.pool, "wholePoolGrants": whole,
                    "rolesSeen": [r.rstrip("/") for r in roles]}, fix)


def _set_member(binding: GcpBinding, member: GcpMember, owners: Owners) -> Finding:
    what, severity = _SETS[member.scope]
    chains = owners.chains(member.raw)
    principals = owners.principals(chains, member.pool)
    resource = binding.resource or "the policy resource"
    fix = (Fix(f"Bind {binding.role} to the principals that use it instead of {member.raw}", "gcp_iam_policy",
               ({"resource": binding.resource, "policy": {"bindings": [{"role": binding.role,
                                                                         "members": principals}]}},))
           if principals else Fix(f"Bind {binding.role} to single principals instead of {member.raw}"))
    kind = "GKE" if member.pool.endswith(GKE_POOL) else "federated"
    return Finding(Kind.WILDCARD_SUBJECT, severity, chains[0] if chains else "", f"{binding.role} on {resource}: "
                   f"{member.raw}", f"{binding.role} on {resource} is granted to {what} ({kind} pool {member.pool})",
                   "", (declared(f"binding of {binding.role} to {member.raw}", binding),),
                   {"member": member.raw, "scope": what, "chains": chains, "principals": principals}, fix)


def _one_role(member: GcpMember) -> bool:
    """An attribute set naming one AWS role (attribute.aws_role/ARN) stands for that role."""
    return bool(role_of_session_subject(member.attribute.partition("=")[2])[0])


def _chain(owners: Owners, pool: str) -> str:
    return next(iter(owners.in_pool(pool)), "")
