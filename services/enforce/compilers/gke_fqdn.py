"""GKE FQDNNetworkPolicy: egress to names. It is additive with NetworkPolicy, so CIDRs stay
with the networkpolicy target; its `*` spans one label, and its ports are single numbers
(a short range is written out port by port)."""
from __future__ import annotations

from weft.enforce.core import ir
from weft.enforce.compilers import kube
from weft.enforce.compilers.base import Compiler, Gap, Output, no_audit_mode, register


@register("gke_fqdn")
class GkeFqdnCompiler(Compiler):
    description = "GKE FQDNNetworkPolicy (networking.gke.io/v1alpha1): egress to names and ports"
    schema = "gke/fqdnnetworkpolicy"
    aspects = ("hosts",)
    api_version = "networking.gke.io/v1alpha1"
    kind = "FQDNNetworkPolicy"
    max_ports_per_range = 64

    def compile(self, policy: ir.Policy) -> Output:
        egress, enforced, gaps = [], [], []
        for host in policy.hosts:
            if host.wildcard == "any_depth":
                gaps.append(Gap(host.origin, f"{host.pattern}: GKE's * matches one label only; write "
                                             f"*.{host.domain} for one level"))
            elif any(p.last - p.first >= self.max_ports_per_range for p in host.ports):
                gaps.append(Gap(host.origin, f"{host.pattern}: FQDNNetworkPolicy takes single ports; the "
                                             f"range is wider than {self.max_ports_per_range}"))
            else:
                match = {"name": host.pattern} if host.wildcard == "exact" else {"pattern": host.pattern}
                rule: dict = {"matches": [match]}
                if host.ports:
                    rule["ports"] = [{"protocol": p.protocol, "port": n}
                                     for p in host.ports for n in range(p.first, p.last + 1)]
                egress.append(rule)
                enforced.append(host.origin)
        gaps += [Gap(n.origin, f"{n.network}: FQDNNetworkPolicy matches names only; the networkpolicy target "
                               "allows CIDRs beside it (the two are additive)") for n in policy.networks]
        doc = {"apiVersion": self.api_version, "kind": self.kind, "metadata": kube.metadata(policy),
               "spec": {"podSelector": kube.match_labels(policy), "egress": egress}}
        return Output([doc] if egress else [], enforced, gaps + no_audit_mode(policy, self.kind))
