"""The GCP links of a service account: one federated principal per workload identity
pool that admits it (its own token through an OIDC or GKE pool, or its AWS role's
sessions through an AWS pool), then any Google service account it acts as. Declared:
the bindings whose members admit it; observed: STS token exchanges and the calls made
as the principal (audit logs' principalSubject)."""
from __future__ import annotations

from dataclasses import dataclass, field

from weft.posture.core.auditlogs.model import GcpTokenExchange
from weft.posture.core.chain.evidence import declared, grouped, outcome
from weft.posture.core.chain.gcp_accounts import service_account_links
from weft.posture.core.chain.gcp_admission import (GKE_POOL, Admission, Pools, admits_role, admits_subject,
                                                   pool_subject, principal, role_key)
from weft.posture.core.chain.gcp_index import GcpIndex, Grant
from weft.posture.core.chain.inventory import Inventory
from weft.posture.core.chain.model import Evidence, Link, LinkFacts, LinkStatus, Via
from weft.posture.core.model import Cloud, KubernetesSubject


@dataclass
class _Principal:
    pool: str
    via: Via
    parent: str
    project_number: str = ""
    identity: str = ""
    bindings: dict[int, object] = field(default_factory=dict)
    members: set[str] = field(default_factory=set)
    evidence: list[Evidence] = field(default_factory=list)
    broad: set[str] = field(default_factory=set)
    exchanges: list[GcpTokenExchange] = field(default_factory=list)


def gcp_links(subject: KubernetesSubject, role_arns: list[str], inventory: Inventory, index: GcpIndex,
              pools: Pools) -> list[tuple[Link, LinkFacts]]:
    found: dict[tuple[str, str], _Principal] = {}
    account = (subject.namespace, subject.service_account)
    exchanges = [x for x in index.exchanges.get(account, []) if pools.exchanged_here(x.provider, subject)]
    used = frozenset(x.pool for x in exchanges if x.success)
    for grant in index.exact.get(account, []) + index.sets:
        if admission := admits_subject(grant[1], subject, pools, used):
            _admit(found, grant, admission, _via(admission.pool), subject.sub)
    for x in exchanges:
        _entry(found, x.pool, _via(x.pool), subject.sub, x)
    for arn in role_arns:
        key = role_key(arn)
        for grant in index.roles.get(key, []) + index.sets:
            if admission := admits_role(grant[1], arn, pools):
                _admit(found, grant, admission, Via.AWS_FEDERATION, arn)
        for x in index.role_exchanges.get(key, []):
            _entry(found, x.pool, Via.AWS_FEDERATION, arn, x)
    links = [_link(p, subject, inventory, index) for _, p in sorted(found.items())]
    return links + service_account_links(subject, [link for link, _ in links], index, inventory)


def _via(pool: str) -> Via:
    return Via.GKE_WORKLOAD_IDENTITY if pool.endswith(GKE_POOL) else Via.OIDC_FEDERATION


def _admit(found, grant: Grant, admission: Admission, via: Via, parent: str) -> None:
    binding, member = grant
    entry = _entry(found, admission.pool, via, parent)
    entry.project_number = entry.project_number or admission.project_number
    if id(binding) not in entry.bindings:
        entry.bindings[id(binding)] = binding
        where = f" on {binding.resource}" if binding.resource else ""
        entry.evidence.append(declared(f"binding of {binding.role}{where} to {member.raw}", binding))
    entry.members.add(member.raw)
    if admission.exact and via is not Via.AWS_FEDERATION and not entry.identity:
        entry.identity = member.raw
    if not admission.exact:
        entry.broad.add(member.raw)


def _entry(found, pool: str, via: Via, parent: str, exchange: GcpTokenExchange | None = None) -> _Principal:
    entry = found.setdefault((pool, parent), _Principal(pool, via, parent))
    if exchange is not None:
        entry.exchanges.append(exchange)
        entry.project_number = entry.project_number or exchange.project_number
        if exchange.principal is not None and exchange.success and not entry.identity and via is not Via.AWS_FEDERATION:
            entry.identity = exchange.principal.raw
    return entry


def _link(p: _Principal, subject: KubernetesSubject, inventory: Inventory, index: GcpIndex) -> tuple[Link, LinkFacts]:
    identity = p.identity or _constructed(p, subject)
    calls = [c for key in _call_keys(p, identity, subject, index) for c in inventory.gcp_calls.get(key, [])]
    evidence = p.evidence + grouped(p.exchanges, lambda x: f"token exchange in {x.pool} {outcome(x.success)}")
    evidence += grouped(calls, lambda c: f"calls as the principal {outcome(c.success)}")
    disagreements = [f"admitted through {m}, which admits more than this identity" for m in sorted(p.broad)]
    if failed := [x for x in p.exchanges if not x.success]:
        disagreements.append(f"{len(failed)} token exchange(s) in {p.pool} failed")
    if p.exchanges and not p.bindings:
        disagreements.append(f"tokens were exchanged in {p.pool} but no binding in the inputs admits the principal")
    used = any(x.success for x in p.exchanges) or any(c.success for c in calls)
    status = (LinkStatus.CONFIRMED if p.bindings and used else LinkStatus.OBSERVED if used
              else LinkStatus.DECLARED if p.bindings else LinkStatus.ATTEMPTED)
    aliases = tuple(sorted({("member", m) for m in p.members if m != identity} | {("pool", p.pool)}))
    link = Link(Cloud.GCP, identity, p.via, p.parent, status, tuple(evidence), tuple(disagreements), aliases)
    return link, LinkFacts(grants=tuple(p.bindings.values()), calls=tuple(calls))


def _constructed(p: _Principal, subject: KubernetesSubject) -> str:
    number = p.project_number or "PROJECT_NUMBER"
    if p.via is Via.AWS_FEDERATION:
        account, role = role_key(p.parent)
        return (f"principalSet://iam.googleapis.com/projects/{number}/locations/global/workloadIdentityPools/"
                f"{p.pool}/attribute.aws_role/arn:aws:sts::{account}:assumed-role/{role}")
    return principal(number, p.pool, pool_subject(p.pool, subject))


def _call_keys(p: _Principal, identity: str, subject: KubernetesSubject, index: GcpIndex) -> list[str]:
    if p.via is Via.AWS_FEDERATION:
        return sorted(index.session_calls.get((p.pool, *role_key(p.parent)), []))
    keys = {identity} | {x.principal.raw for x in p.exchanges if x.principal is not None}
    if p.via is Via.GKE_WORKLOAD_IDENTITY:
        keys.add(f"serviceAccount:{p.pool}[{subject.namespace}/{subject.service_account}]")
    return sorted(keys)
