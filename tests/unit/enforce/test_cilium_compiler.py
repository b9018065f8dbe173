"""CiliumNetworkPolicy: toFQDNs with the DNS-proxy rule allowing exactly those lookups,
toCIDRSet, string ports with endPort, the service account in the endpoint selector."""
from __future__ import annotations

from enforce_intents import policy
from weft.enforce.compilers.cilium import CiliumCompiler

DNS_TO = [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system", "k8s:k8s-app": "kube-dns"}}]


def test_cilium_names_cidrs_and_the_dns_rule():
    out = CiliumCompiler().compile(policy(egress=[
        {"fqdns": ["api.example.com", "*.cdn.example.com"], "ports": [443]},
        {"cidrs": ["10.0.0.0/16"], "ports": ["8000-8100", {"port": 53, "protocol": "UDP"}]}]))
    assert out.documents[0]["spec"] == {
        "endpointSelector": {"matchLabels": {"app.kubernetes.io/name": "bot",
                                             "io.cilium.k8s.policy.serviceaccount": "bot-sa"}},
        "egress": [
            {"toEndpoints": DNS_TO, "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}], "rules": {"dns": [
                {"matchName": "api.example.com"}, {"matchPattern": "*.cdn.example.com"}]}}]},
            {"toFQDNs": [{"matchName": "api.example.com"}, {"matchPattern": "*.cdn.example.com"}],
             "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]},
            {"toCIDRSet": [{"cidr": "10.0.0.0/16"}],
             "toPorts": [{"ports": [{"port": "8000", "endPort": 8100, "protocol": "TCP"},
                                    {"port": "53", "protocol": "UDP"}]}]}]}
    assert out.documents[0]["apiVersion"] == "cilium.io/v2" and out.gaps == []


def test_cilium_cannot_express_any_depth_wildcards():
    out = CiliumCompiler().compile(policy(egress=[{"fqdns": ["**.example.com"]}, {"cidrs": ["10.0.0.0/8"]}]))
    assert out.documents[0]["spec"]["egress"] == [{"toCIDRSet": [{"cidr": "10.0.0.0/8"}]}]
    assert [g.origin for g in out.gaps] == ["spec.egress[0].fqdns[0]"]
