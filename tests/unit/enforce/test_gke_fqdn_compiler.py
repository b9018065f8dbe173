"""GKE FQDNNetworkPolicy: names and patterns, ports one by one, CIDRs left to NetworkPolicy."""
from __future__ import annotations

from enforce_intents import policy
from weft.enforce.compilers.gke_fqdn import GkeFqdnCompiler


def test_gke_fqdn_table():
    out = GkeFqdnCompiler().compile(policy(egress=[
        {"fqdns": ["api.example.com", "*.example.org"], "ports": ["8443-8444"]},
        {"fqdns": ["**.deep.example"], "cidrs": ["10.0.0.0/8"]}]))
    assert out.documents == [{
        "apiVersion": "networking.gke.io/v1alpha1", "kind": "FQDNNetworkPolicy",
        "metadata": {"name": "weft-bot", "namespace": "agents",
                     "labels": {"app.kubernetes.io/managed-by": "weft", "weft.dev/policy": "bot"}},
        "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "bot"}}, "egress": [
            {"matches": [{"name": "api.example.com"}], "ports": [{"protocol": "TCP", "port": 8443},
                                                                 {"protocol": "TCP", "port": 8444}]},
            {"matches": [{"pattern": "*.example.org"}], "ports": [{"protocol": "TCP", "port": 8443},
                                                                  {"protocol": "TCP", "port": 8444}]}]}}]
    assert [g.origin for g in out.gaps] == ["spec.egress[1].fqdns[0]", "spec.egress[1].cidrs[0]"]


def test_gke_fqdn_writes_nothing_when_no_name_fits():
    assert GkeFqdnCompiler().compile(policy(egress=[{"fqdns": ["**.example.com"]}])).documents == []
