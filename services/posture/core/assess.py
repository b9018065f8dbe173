"""Posture for a set of inputs, as the service and `weft analyze` both run it: agents
from their profiles and their workloads' manifests, their chains, the findings. Pure."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

from weft.discovery.core.profiles import Profile
from weft.posture.core.chain.serialise import chain_to_dict
from weft.posture.core.chain.subjects import agents_from_profiles
from weft.posture.core.declarations.agent_policy import DeclaredReach
from weft.posture.core.declarations.model import WorkloadServiceAccount
from weft.posture.core.findings import Posture, analyse
from weft.posture.core.findings.model import finding_to_dict
from weft.posture.core.findings.tools import unused_declared_reach


@dataclass(frozen=True)
class Assessment:
    posture: Posture
    unattributed: tuple[str, ...]     # agents (cluster/namespace/workload) whose manifest is not in the inputs

    def chains(self) -> list[dict]:
        return [chain_to_dict(c.chain) for c in self.posture.chains]

    def findings(self) -> list[dict]:
        return [finding_to_dict(f) for f in self.posture.findings]


def assess(declarations: list, observations: list, profiles: Iterable[Profile]) -> Assessment:
    profiles = list(profiles)
    reaches = [d for d in declarations if isinstance(d, DeclaredReach)]
    declarations = [d for d in declarations if not isinstance(d, DeclaredReach)]
    workloads = [d for d in declarations if isinstance(d, WorkloadServiceAccount)]
    agents, unknown = agents_from_profiles(profiles, workloads)
    posture = analyse(agents, declarations, observations, profiles=profiles)
    extra = unused_declared_reach(reaches, profiles)
    if extra:
        posture = replace(posture, findings=tuple(posture.findings) + tuple(extra))
    return Assessment(posture, tuple(sorted(unknown)))
