"""posture's findings, the entry point:

    result = analyse(agents, declarations, observations, profiles=profiles,
                     cluster_issuers={"eks": "https://oidc.eks.REGION.amazonaws.com/id/ID"})
    result.chains       # ResolvedChain per service account (chain_to_dict: weft.identity.v1)
    result.findings     # Finding, most severe first (finding_to_dict: weft.findings.v1)

Findings: permissions granted and never used, per link and per chain, with the
least-privilege replacement in each provider's format; federation gaps; chain-level
reach; network reach granted and never used (with the agents' behaviour profiles)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from weft.discovery.core.profiles import Profile
from weft.posture.core.chain.clusters import Clusters
from weft.posture.core.chain.inventory import Inventory
from weft.posture.core.chain.model import AgentIdentity, Link, LinkFacts, LinkStatus, ResolvedChain
from weft.posture.core.chain.resolve import resolve
from weft.posture.core.findings.federation import federation_findings
from weft.posture.core.findings.gcp_roles import predefined_roles
from weft.posture.core.findings.judge_aws import judge_aws
from weft.posture.core.findings.judge_azure import judge_azure
from weft.posture.core.findings.judge_gcp import judge_gcp
from weft.posture.core.findings.judgement import Judgement
from weft.posture.core.findings.model import Finding, finding_to_dict, sort_findings
from weft.posture.core.findings.network import network_finding
from weft.posture.core.findings.reach import reach_finding
from weft.posture.core.findings.unused import unused_findings
from weft.posture.core.model import Cloud, Declaration, Observation

__all__ = ["Posture", "analyse", "finding_to_dict", "judge", "posture_findings"]


@dataclass(frozen=True)
class Posture:
    chains: tuple[ResolvedChain, ...]
    findings: tuple[Finding, ...]
    window: Mapping[str, str]


def analyse(agents: Iterable[AgentIdentity], declarations: Iterable[Declaration],
            observations: Iterable[Observation], *, profiles: Iterable[Profile] = (),
            cluster_issuers: Mapping[str, str] | None = None) -> Posture:
    inventory = Inventory.build(declarations, observations)
    agents = list(agents)
    clusters = Clusters.of(cluster_issuers)
    chains = resolve(agents, inventory, clusters)
    window = {"from": _time(inventory.first), "to": _time(inventory.last)}
    findings = posture_findings(chains, inventory, agents, clusters, profiles, window)
    return Posture(tuple(chains), tuple(findings), window)


def posture_findings(chains: list[ResolvedChain], inventory: Inventory, agents: list[AgentIdentity],
                     clusters: Clusters, profiles: Iterable[Profile], window: Mapping[str, str]) -> list[Finding]:
    by_agent = {p.agent: p for p in profiles}
    found: list[Finding] = []
    for resolved in chains:
        chain = resolved.chain
        judgements = [judge(link, facts) for link, facts in zip(chain.links, resolved.facts)
                      if link.status is not LinkStatus.ATTEMPTED]     # a role it failed to get grants it nothing
        found += unused_findings(chain, judgements, dict(window))
        if (reach := reach_finding(chain, judgements)) is not None:
            found.append(reach)
        if (profile := by_agent.get(chain.agent)) is not None and (
                network := network_finding(chain, judgements, profile)) is not None:
            found.append(network)
    found += federation_findings(inventory, [r.chain for r in chains], agents, clusters)
    return sort_findings(found)


def judge(link: Link, facts: LinkFacts) -> Judgement:
    if link.cloud is Cloud.AWS:
        return judge_aws(link, facts)
    if link.cloud is Cloud.AZURE:
        return judge_azure(link, facts)
    return judge_gcp(link, facts, predefined_roles())


def _time(t) -> str:
    return t.isoformat().replace("+00:00", "Z") if t is not None else ""
