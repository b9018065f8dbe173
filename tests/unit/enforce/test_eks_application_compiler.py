"""EKS ApplicationNetworkPolicy: domainNames where *. means any depth, so the intent's
**. maps onto it and its one-label *. cannot."""
from __future__ import annotations

from enforce_intents import policy
from weft.enforce.compilers.eks_application import EksApplicationCompiler
from weft.enforce.compilers.networkpolicy import NetworkPolicyCompiler


def test_eks_application_table():
    out = EksApplicationCompiler().compile(policy(egress=[
        {"fqdns": ["api.example.com", "**.s3.amazonaws.com", "*.one.example"], "ports": [443]},
        {"cidrs": ["10.0.0.0/16"]}]))
    assert out.documents[0]["spec"] == {
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "bot"}}, "policyTypes": ["Egress"],
        "egress": [NetworkPolicyCompiler.dns_rule,
                   {"to": [{"domainNames": ["api.example.com", "*.s3.amazonaws.com"]}],
                    "ports": [{"protocol": "TCP", "port": 443}]},
                   {"to": [{"ipBlock": {"cidr": "10.0.0.0/16"}}]}]}
    assert out.documents[0]["kind"] == "ApplicationNetworkPolicy"
    assert [g.origin for g in out.gaps] == ["spec.egress[0].fqdns[2]"]
