"""EKS ApplicationNetworkPolicy (EKS Auto Mode): a NetworkPolicy whose egress peers may
also be domainNames. Its `*.` prefix matches one or more labels, so it expresses the
intent's `**.example.com` exactly and cannot express `*.example.com` (one label) without
allowing deeper names too."""
from __future__ import annotations

from weft.enforce.core import ir
from weft.enforce.compilers import kube
from weft.enforce.compilers.base import Compiler, Gap, Output, no_audit_mode, register
from weft.enforce.compilers.networkpolicy import NetworkPolicyCompiler


@register("eks_application")
class EksApplicationCompiler(Compiler):
    description = "EKS ApplicationNetworkPolicy (networking.k8s.aws/v1alpha1): domainNames, CIDRs, ports"
    schema = "eks/applicationnetworkpolicy"
    aspects = ("hosts", "networks")
    api_version = "networking.k8s.aws/v1alpha1"
    kind = "ApplicationNetworkPolicy"
    dns_rule = NetworkPolicyCompiler.dns_rule

    def compile(self, policy: ir.Policy) -> Output:
        hosts = [h for h in policy.hosts if h.wildcard != "one_label"]
        egress = [self.dns_rule] if hosts else []
        for ports, group in kube.grouped_by_ports(tuple(hosts)):
            egress.append(self.with_ports({"to": [{"domainNames": [self.domain_name(h) for h in group]}]}, ports))
        for ports, group in kube.grouped_by_ports(policy.networks):
            egress.append(self.with_ports({"to": [{"ipBlock": {"cidr": str(n.network)}} for n in group]}, ports))
        doc = {"apiVersion": self.api_version, "kind": self.kind, "metadata": kube.metadata(policy),
               "spec": {"podSelector": kube.match_labels(policy), "policyTypes": ["Egress"], "egress": egress}}
        gaps = [Gap(h.origin, f"{h.pattern}: an ApplicationNetworkPolicy's *. also matches deeper names; "
                              f"write **.{h.domain} to accept them, or list the names")
                for h in policy.hosts if h.wildcard == "one_label"]
        enforces = [h.origin for h in hosts] + [n.origin for n in policy.networks]
        return Output([doc], enforces, gaps + no_audit_mode(policy, self.kind))

    @staticmethod
    def domain_name(host: ir.HostAllow) -> str:
        return f"*.{host.domain}" if host.wildcard == "any_depth" else host.pattern

    @staticmethod
    def with_ports(rule: dict, ports: tuple[ir.PortRange, ...]) -> dict:
        if ports:
            rule["ports"] = [NetworkPolicyCompiler.port(p) for p in ports]
        return rule
