"""posture's identity chains, the entry points:

    agents, unknown = agents_from_profiles(profiles, workloads)
    resolved = resolve_chains(agents, declarations, observations, cluster_issuers={"eks": "https://oidc.eks..."})
    [chain_to_dict(r.chain) for r in resolved]      # what weft.identity.v1 carries

Each chain starts at one Kubernetes service account in one cluster (the agent that runs
as it, or none) and lists its links — AWS role, Azure app or managed identity, GCP
principal, Google service account — whichever exist, each with the declarations and
log records that show it and where they disagree. `ResolvedChain.facts` holds what the
findings judge each link by. Without `cluster_issuers`, subjects are matched by
namespace and name alone, and links say so."""
from __future__ import annotations

from typing import Iterable, Mapping

from weft.posture.core.chain.clusters import Clusters
from weft.posture.core.chain.inventory import Inventory
from weft.posture.core.chain.model import (AgentIdentity, Evidence, IdentityChain, Link, LinkFacts, LinkStatus,
                                           ResolvedChain, Via, chain_id)
from weft.posture.core.chain.resolve import resolve
from weft.posture.core.chain.serialise import chain_from_dict, chain_to_dict, identities
from weft.posture.core.chain.subjects import agents_from_profiles
from weft.posture.core.model import Declaration, Observation

__all__ = ["AgentIdentity", "Evidence", "IdentityChain", "Inventory", "Link", "LinkFacts", "LinkStatus",
           "ResolvedChain", "Via", "agents_from_profiles", "chain_from_dict", "chain_id", "chain_to_dict",
           "identities", "resolve_chains"]


def resolve_chains(agents: Iterable[AgentIdentity], declarations: Iterable[Declaration] | Inventory,
                   observations: Iterable[Observation] = (), *,
                   cluster_issuers: Mapping[str, str] | None = None) -> list[ResolvedChain]:
    """Chains of the agents, then of service accounts linked without an agent; sorted,
    deterministic. `declarations` may be an Inventory already built from both."""
    inventory = declarations if isinstance(declarations, Inventory) else Inventory.build(declarations, observations)
    return resolve(agents, inventory, Clusters.of(cluster_issuers))
