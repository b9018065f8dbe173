"""Resolving chains: for each agent's service account (and each service account linked
without an agent), its AWS links, then its Azure link, then its GCP principals (their
own, and through its AWS roles) and the Google service accounts they act as."""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from weft.posture.core.chain.aws import aws_links
from weft.posture.core.chain.azure import azure_links
from weft.posture.core.chain.clusters import Clusters
from weft.posture.core.chain.gcp import gcp_links
from weft.posture.core.chain.gcp_admission import Pools
from weft.posture.core.chain.gcp_index import GcpIndex
from weft.posture.core.chain.inventory import Inventory
from weft.posture.core.chain.model import AgentIdentity, IdentityChain, Link, LinkFacts, ResolvedChain
from weft.posture.core.chain.subjects import orphan_subjects
from weft.posture.core.model import Cloud, KubernetesSubject


def resolve(agents: Iterable[AgentIdentity], inventory: Inventory, clusters: Clusters) -> list[ResolvedChain]:
    agents = sorted(set(agents), key=lambda a: (a.agent, a.subject.cluster, a.subject.namespace,
                                                a.subject.service_account))
    index = GcpIndex.build(inventory)
    pools = Pools(inventory.providers, clusters)
    chains = [_chain(a.agent, a.subject, inventory, index, pools, clusters) for a in agents]
    orphans = (_chain("", s, inventory, index, pools, clusters)
               for s in orphan_subjects(agents, inventory, index, clusters))
    return chains + [c for c in orphans if c.chain.links]      # named by a trust alone: no link to show


def _chain(agent: str, subject: KubernetesSubject, inventory: Inventory, index: GcpIndex, pools: Pools,
           clusters: Clusters) -> ResolvedChain:
    pairs = aws_links(subject, inventory, clusters)
    roles = [link.identity for link, _ in pairs if link.cloud is Cloud.AWS]
    pairs += azure_links(subject, inventory, clusters)
    pairs += gcp_links(subject, roles, inventory, index, pools)
    pairs = [_ordered(link, facts) for link, facts in pairs]
    return ResolvedChain(IdentityChain(agent, subject, tuple(link for link, _ in pairs)),
                         tuple(facts for _, facts in pairs))


def _ordered(link: Link, facts: LinkFacts) -> tuple[Link, LinkFacts]:
    """Evidence and grants in an order of their content, whatever order the inputs came in."""
    evidence = tuple(sorted(link.evidence, key=lambda e: (e.kind != "declaration", e.what, e.source)))
    grants = tuple(sorted(facts.grants, key=lambda g: (str(g.source), type(g).__name__, repr(g))))
    return replace(link, evidence=evidence), replace(facts, grants=grants)
