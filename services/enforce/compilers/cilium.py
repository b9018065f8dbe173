"""CiliumNetworkPolicy: names through toFQDNs, addresses through toCIDRSet. toFQDNs only
learns addresses from lookups its DNS proxy sees, so the policy also sends DNS to kube-dns
through the proxy, allowing lookups of exactly the names it allows. Cilium's `*` spans
one label: `**.example.com` (any depth) has no equivalent."""
from __future__ import annotations

from weft.enforce.core import ir
from weft.enforce.compilers import kube
from weft.enforce.compilers.base import Compiler, Gap, Output, no_audit_mode, register


@register("cilium")
class CiliumCompiler(Compiler):
    description = "CiliumNetworkPolicy (cilium.io/v2): toFQDNs with its DNS-proxy rule, toCIDRSet, ports"
    schema = "cilium/ciliumnetworkpolicy"
    aspects = ("hosts", "networks")
    api_version = "cilium.io/v2"
    kind = "CiliumNetworkPolicy"
    service_account_label = "io.cilium.k8s.policy.serviceaccount"
    dns_endpoints = [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": kube.KUBE_DNS_NAMESPACE,
                                      **{f"k8s:{k}": v for k, v in kube.KUBE_DNS_LABELS.items()}}}]
    dns_ports = [{"port": "53", "protocol": "ANY"}]

    def compile(self, policy: ir.Policy) -> Output:
        hosts = [h for h in policy.hosts if h.wildcard != "any_depth"]
        egress = []
        if hosts:
            egress.append({"toEndpoints": self.dns_endpoints,
                           "toPorts": [{"ports": self.dns_ports, "rules": {"dns": [self.selector(h) for h in hosts]}}]})
        for ports, group in kube.grouped_by_ports(tuple(hosts)):
            egress.append(self.with_ports({"toFQDNs": [self.selector(h) for h in group]}, ports))
        for ports, group in kube.grouped_by_ports(policy.networks):
            egress.append(self.with_ports({"toCIDRSet": [{"cidr": str(n.network)} for n in group]}, ports))
        selector = dict(policy.selector.labels)
        if policy.selector.service_account:
            selector[self.service_account_label] = policy.selector.service_account
        doc = {"apiVersion": self.api_version, "kind": self.kind, "metadata": kube.metadata(policy),
               "spec": {"endpointSelector": {"matchLabels": selector}, "egress": egress}}
        gaps = [Gap(h.origin, f"{h.pattern}: Cilium's * matches one label only; list the names or write "
                              f"*.{h.domain} for one level") for h in policy.hosts if h.wildcard == "any_depth"]
        enforces = [h.origin for h in hosts] + [n.origin for n in policy.networks]
        return Output([doc], enforces, gaps + no_audit_mode(policy, self.kind))

    @staticmethod
    def selector(host: ir.HostAllow) -> dict:
        return {"matchName": host.pattern} if host.wildcard == "exact" else {"matchPattern": host.pattern}

    @staticmethod
    def with_ports(rule: dict, ports: tuple[ir.PortRange, ...]) -> dict:
        if ports:
            rule["toPorts"] = [{"ports": [{"port": str(p.first), **({"endPort": p.last} if p.last != p.first else {}),
                                           "protocol": p.protocol} for p in ports]}]
        return rule
