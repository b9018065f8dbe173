"""Federation gaps across providers: trusts that admit more than the agent they are
for (wildcard or namespace-wide subjects, pools that trust a whole AWS account,
audiences left open, federated credentials no workload uses). Each finding belongs to
the chain that uses the trust when one does."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

from weft.posture.core.chain.clusters import Clusters
from weft.posture.core.chain.inventory import Inventory
from weft.posture.core.chain.model import AgentIdentity, IdentityChain, LinkStatus
from weft.posture.core.findings.federation_aws import aws_gaps
from weft.posture.core.findings.federation_azure import azure_gaps
from weft.posture.core.findings.federation_gcp import gcp_gaps
from weft.posture.core.findings.model import Finding
from weft.posture.core.model import Cloud


@dataclass
class Owners:
    """Which chains each identity, alias and pool belongs to (sorted chain ids)."""
    by_name: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    by_pool: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    gcp: defaultdict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    unowned: set[str] = field(default_factory=set)        # chains no agent runs as

    @classmethod
    def of(cls, chains: list[IdentityChain]) -> Owners:
        """Links the chain failed to get (attempted only) own nothing."""
        owners = cls()
        for chain in chains:
            owners.by_name[chain.subject.sub].add(chain.id)
            if not chain.agent:
                owners.unowned.add(chain.id)
            for link in (x for x in chain.links if x.status is not LinkStatus.ATTEMPTED):
                for name in (link.identity, *(v for _, v in link.aliases)):
                    owners.by_name[name].add(chain.id)
                for pool in (v for k, v in link.aliases if k == "pool" and link.cloud is Cloud.GCP):
                    owners.by_pool[pool].add(chain.id)
                    if link.identity.startswith("principal://"):
                        owners.gcp[(chain.id, pool)].add(link.identity)
        return owners

    def chains(self, name: str) -> list[str]:
        """Agents' chains first, then by id."""
        return self.ordered(self.by_name.get(name, ()))

    def in_pool(self, pool: str) -> list[str]:
        return self.ordered(self.by_pool.get(pool, ()))

    def ordered(self, ids) -> list[str]:
        return sorted(ids, key=lambda c: (c in self.unowned, c))

    def principals(self, chains: list[str], pool: str) -> list[str]:
        return sorted({p for c in chains for p in self.gcp.get((c, pool), ())})


def federation_findings(inventory: Inventory, chains: list[IdentityChain], agents: list[AgentIdentity],
                        clusters: Clusters) -> list[Finding]:
    owners = Owners.of(chains)
    agent_of = {c.id: c.agent for c in chains}
    found = aws_gaps(inventory, owners) + gcp_gaps(inventory, owners) + azure_gaps(inventory, agents, clusters, owners)
    return [_with_agent(f, agent_of.get(f.chain, "")) for f in found]


def _with_agent(f: Finding, agent: str) -> Finding:
    return replace(f, agent=agent) if agent and not f.agent else f
