"""What every Kubernetes-object target shares: object metadata, the pod selector, the
kube-dns peer names must still resolve through, rules grouped by their ports."""
from __future__ import annotations

from weft.enforce.core import ir

MANAGED_BY = {"app.kubernetes.io/managed-by": "weft"}
KUBE_DNS_NAMESPACE = "kube-system"
KUBE_DNS_LABELS = {"k8s-app": "kube-dns"}


def metadata(policy: ir.Policy) -> dict:
    return {"name": f"weft-{policy.name}", "namespace": policy.selector.namespace,
            "labels": {**MANAGED_BY, "weft.dev/policy": policy.name}}


def match_labels(policy: ir.Policy) -> dict:
    return {"matchLabels": policy.selector.labels}


def grouped_by_ports(items: tuple) -> list[tuple[tuple[ir.PortRange, ...], list]]:
    """Items sharing the same ports, in first-seen order, so one rule carries them all."""
    groups: dict[tuple[ir.PortRange, ...], list] = {}
    for item in items:
        groups.setdefault(item.ports, []).append(item)
    return list(groups.items())
