"""Checks that span fields of a valid-looking intent: a rule with nothing to allow, a port
range backwards, a selector naming a cluster the context does not declare, an AWS action
no one has heard of (a warning: the action list comes from policyuniverse and may lag)."""
from __future__ import annotations

import difflib
from collections import Counter
from functools import lru_cache

from weft.enforce.core.intent import AgentPolicyDocument
from weft.enforce.core.problems import Problem


def problems(doc: AgentPolicyDocument, source: str) -> list[Problem]:
    found: list[Problem] = []

    def error(path: str, message: str) -> None:
        found.append(Problem(source, path, message))

    spec = doc.spec
    if not spec.selector.workload and not spec.selector.pod_labels:
        error("spec.selector", "name the agent: set workload, podLabels or both")
    names = [c.name for c in spec.clusters]
    for name, count in Counter(names).items():
        if count > 1:
            error("spec.clusters", f"cluster {name!r} is declared {count} times")
    for i, name in enumerate(spec.selector.clusters or []):
        if spec.clusters and name not in names:
            error(f"spec.selector.clusters[{i}]", f"{name!r} is not in spec.clusters; declared: {', '.join(names)}")
    for i, rule in enumerate(spec.egress):
        if not rule.fqdns and not rule.cidrs:
            error(f"spec.egress[{i}]", "allows nothing: expected fqdns, cidrs or both")
        for j, port in enumerate(rule.ports):
            if port.end_port is not None and port.end_port < port.port:
                error(f"spec.egress[{i}].ports[{j}]", f"endPort {port.end_port} is below port {port.port}")
    for i, grant in enumerate(spec.cloud.azure.allow if spec.cloud.azure else []):
        if not grant.actions and not grant.data_actions:
            error(f"spec.cloud.azure.allow[{i}]", "allows nothing: expected actions, dataActions or both")
    for i, grant in enumerate(spec.cloud.gcp.allow if spec.cloud.gcp else []):
        if not grant.roles and not grant.permissions:
            error(f"spec.cloud.gcp.allow[{i}]", "allows nothing: expected roles, permissions or both")
    for i, grant in enumerate(spec.cloud.aws.allow if spec.cloud.aws else []):
        for j, action in enumerate(grant.actions):
            if "*" not in action and "?" not in action and action.lower() not in known_aws_actions():
                found.append(Problem(source, f"spec.cloud.aws.allow[{i}].actions[{j}]",
                                     f"{action!r} is not a known AWS action{_close(action)}", "warning"))
    return found


@lru_cache(maxsize=1)
def known_aws_actions() -> frozenset[str]:
    from policyuniverse import all_permissions
    return frozenset(all_permissions)


def _close(action: str) -> str:
    service = action.split(":")[0].lower() + ":"
    found = difflib.get_close_matches(action.lower(), [a for a in known_aws_actions() if a.startswith(service)], n=1)
    return f"; did you mean {found[0]!r}?" if found else ""
