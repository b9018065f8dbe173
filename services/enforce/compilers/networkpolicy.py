"""Kubernetes NetworkPolicy: egress to CIDRs and ports. Names cannot be expressed (a
NetworkPolicy matches addresses); they still resolve through kube-dns, so a target that
can express names (cilium, gke_fqdn, eks_application) can allow them beside it."""
from __future__ import annotations

from weft.enforce.core import ir
from weft.enforce.compilers import kube
from weft.enforce.compilers.base import Compiler, Gap, Output, no_audit_mode, register


@register("networkpolicy")
class NetworkPolicyCompiler(Compiler):
    description = "Kubernetes NetworkPolicy (networking.k8s.io/v1): egress to CIDRs and ports"
    schema = "kubernetes/networkpolicy"
    aspects = ("hosts", "networks")
    api_version = "networking.k8s.io/v1"
    kind = "NetworkPolicy"
    dns_rule = {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": kube.KUBE_DNS_NAMESPACE}},
                        "podSelector": {"matchLabels": kube.KUBE_DNS_LABELS}}],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}

    def compile(self, policy: ir.Policy) -> Output:
        egress = [self.dns_rule] if policy.hosts else []
        for ports, networks in kube.grouped_by_ports(policy.networks):
            rule: dict = {"to": [{"ipBlock": {"cidr": str(n.network)}} for n in networks]}
            if ports:
                rule["ports"] = [self.port(p) for p in ports]
            egress.append(rule)
        doc = {"apiVersion": self.api_version, "kind": self.kind, "metadata": kube.metadata(policy),
               "spec": {"podSelector": kube.match_labels(policy), "policyTypes": ["Egress"], "egress": egress}}
        gaps = [Gap(h.origin, f"{h.pattern}: a NetworkPolicy matches addresses, not names; "
                              "cilium, gke_fqdn or eks_application allow names") for h in policy.hosts]
        return Output([doc], [n.origin for n in policy.networks], gaps + no_audit_mode(policy, self.kind))

    @staticmethod
    def port(p: ir.PortRange) -> dict:
        out: dict = {"protocol": p.protocol, "port": p.first}
        if p.last != p.first:
            out["endPort"] = p.last
        return out
