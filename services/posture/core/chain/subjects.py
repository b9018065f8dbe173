"""Whose chains to resolve: every agent's service account in every cluster it runs in
(from its behaviour profile and the workloads' manifests), and every service account
that declarations or logs link to a cloud identity while no agent runs as it."""
from __future__ import annotations

from typing import Iterable

from weft.discovery.core.profiles import Profile
from weft.posture.core.chain.clusters import Clusters
from weft.posture.core.chain.gcp_index import GcpIndex
from weft.posture.core.chain.inventory import Inventory
from weft.posture.core.chain.model import AgentIdentity
from weft.posture.core.chain.trust import oidc_issuer, web_identity_trusts
from weft.posture.core.declarations.model import WorkloadServiceAccount
from weft.posture.core.model import KubernetesSubject


def agents_from_profiles(profiles: Iterable[Profile],
                         workloads: Iterable[WorkloadServiceAccount]) -> tuple[list[AgentIdentity], list[str]]:
    """Agents with the service account their workload's manifest runs it as, per cluster;
    and the agents (as cluster/namespace/workload) whose manifest is not in the inputs."""
    by_workload: dict[tuple[str, str], WorkloadServiceAccount] = {}
    for w in workloads:
        by_workload.setdefault((w.subject.namespace, w.name), w)
    found, unknown = set(), set()
    for profile in profiles:
        for cluster, namespace, _kind, name in profile.workloads:
            if (w := by_workload.get((namespace, name))) is None:
                unknown.add(f"{cluster}/{namespace}/{name}")
                continue
            found.add(AgentIdentity(profile.agent, KubernetesSubject(namespace, w.subject.service_account, cluster)))
    return sorted(found, key=_order), sorted(unknown)


def orphan_subjects(agents: Iterable[AgentIdentity], inventory: Inventory, index: GcpIndex,
                    clusters: Clusters) -> list[KubernetesSubject]:
    """Service accounts linked by declarations or logs that no agent runs as. Where the
    input names the cluster (an association, an issuer weft knows) it is kept; a service
    account an agent runs as is the agent's unless the input says another cluster."""
    named: set[KubernetesSubject] = set()
    named.update(KubernetesSubject(*account) for account in inventory.annotations)
    for associations in inventory.associations.values():
        named.update(a.subject for a in associations)
    for account, assumptions in inventory.assumptions.items():
        for a in assumptions:
            tagged = a.kubernetes.cluster if a.kubernetes else ""
            cluster = clusters.cluster(oidc_issuer(a.identity_provider)) if a.identity_provider else tagged
            named.add(KubernetesSubject(*account, cluster))
    for c in inventory.credentials:
        if (s := KubernetesSubject.from_sub(c.subject, clusters.cluster(c.issuer))) is not None:
            named.add(s)
    for roles in inventory.roles.values():
        for trust in (t for r in roles for t in web_identity_trusts(r)):
            named.update(s for sub in trust.exact_subjects()
                         if (s := KubernetesSubject.from_sub(sub, clusters.cluster(trust.issuer))) is not None)
    named.update(KubernetesSubject(*account) for account in [*index.exact, *index.exchanges])
    return _unclaimed(named, agents)


def _unclaimed(named: set[KubernetesSubject], agents: Iterable[AgentIdentity]) -> list[KubernetesSubject]:
    taken: dict[tuple[str, str], set[str]] = {}
    for a in agents:
        taken.setdefault((a.subject.namespace, a.subject.service_account), set()).add(a.subject.cluster)
    out = set()
    for s in named:
        key = (s.namespace, s.service_account)
        if key in taken and (not s.cluster or s.cluster in taken[key]):
            continue
        out.add(s)
    in_cluster = {(s.namespace, s.service_account) for s in out if s.cluster}
    return sorted((s for s in out if s.cluster or (s.namespace, s.service_account) not in in_cluster),
                  key=lambda s: (s.cluster, s.namespace, s.service_account))


def _order(a: AgentIdentity) -> tuple[str, str, str, str]:
    return a.agent, a.subject.cluster, a.subject.namespace, a.subject.service_account
