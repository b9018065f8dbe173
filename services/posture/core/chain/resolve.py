"""Resolving chains: for each agent's service account (and each service account linked
without an agent), its AWS links, then its Azure link, then its GCP principals (their
own, and through its AWS roles) and the Google service accounts they act as."""
from __future__ import annotations

from typing import Iterable

from weft.posture.core.chain.aws import aws_links
from weft.posture.core.chain.azure import azure_links
from weft.posture.core.chain.clusters import Clusters
from weft.posture.core.chain.gcp import gcp_links
from weft.posture.core.chain.gcp_admission import Pools
from weft.posture.core.chain.gcp_index import GcpIndex
from weft.posture.core.chain.inventory import Inventory
from weft.posture.core.chain.model import AgentIdentity, IdentityChain, ResolvedChain
from weft.posture.core.chain.subjects import orphan_subjects
from weft.posture.core.model import Cloud, KubernetesSubject


def resolve(agents: Iterable[AgentIdentity], inventory: Inventory, clusters: Clusters) -> list[ResolvedChain]:
    agents = sorted(set(agents), key=lambda a: (a.agent, a.subject.cluster, a.subject.namespace,
                                                a.subject.service_account))
    index = GcpIndex.build(inventory)
    pools = Pools(inventory.providers, clusters)
    subjects = [(a.agent, a.subject) for a in agents]
    subjects += [("", s) for s in orphan_subjects(agents, inventory, index, clusters)]
    return [_chain(agent, subject, inventory, index, pools, clusters) for agent, subject in subjects]


def _chain(agent: str, subject: KubernetesSubject, inventory: Inventory, index: GcpIndex, pools: Pools,
           clusters: Clusters) -> ResolvedChain:
    pairs = aws_links(subject, inventory, clusters)
    roles = [link.identity for link, _ in pairs if link.cloud is Cloud.AWS]
    pairs += azure_links(subject, inventory, clusters)
    pairs += gcp_links(subject, roles, inventory, index, pools)
    return ResolvedChain(IdentityChain(agent, subject, tuple(link for link, _ in pairs)),
                         tuple(facts for _, facts in pairs))
