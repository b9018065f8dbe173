"""NetworkPolicy: CIDRs and ports exactly; names cannot be expressed but keep resolving."""
from __future__ import annotations

import pytest

from enforce_intents import policy
from weft.enforce.compilers.networkpolicy import NetworkPolicyCompiler

META = {"name": "weft-bot", "namespace": "agents",
        "labels": {"app.kubernetes.io/managed-by": "weft", "weft.dev/policy": "bot"}}
DNS = {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
               "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
       "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}


def doc(egress):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": META,
            "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "bot"}}, "policyTypes": ["Egress"],
                     "egress": egress}}


@pytest.mark.parametrize("egress, expected", [
    ([{"cidrs": ["10.0.0.0/16", "192.0.2.0/24"], "ports": [5432]}],
     doc([{"to": [{"ipBlock": {"cidr": "10.0.0.0/16"}}, {"ipBlock": {"cidr": "192.0.2.0/24"}}],
           "ports": [{"protocol": "TCP", "port": 5432}]}])),
    ([{"cidrs": ["2001:db8::/32"], "ports": ["8000-8100", {"port": 53, "protocol": "UDP"}]}, {"cidrs": ["10.9.0.0/16"]}],
     doc([{"to": [{"ipBlock": {"cidr": "2001:db8::/32"}}],
           "ports": [{"protocol": "TCP", "port": 8000, "endPort": 8100}, {"protocol": "UDP", "port": 53}]},
          {"to": [{"ipBlock": {"cidr": "10.9.0.0/16"}}]}])),
    ([{"fqdns": ["api.example.com"], "cidrs": ["10.0.0.0/8"], "ports": [443]}],
     doc([DNS, {"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"protocol": "TCP", "port": 443}]}])),
])
def test_networkpolicy_table(egress, expected):
    out = NetworkPolicyCompiler().compile(policy(egress=egress))
    assert out.documents == [expected]


def test_names_are_declared_not_expressible():
    out = NetworkPolicyCompiler().compile(policy(egress=[{"fqdns": ["api.example.com"]}], mode="audit"))
    assert [g.origin for g in out.gaps] == ["spec.egress[0].fqdns[0]", "spec.mode"]
    assert out.enforces == []
