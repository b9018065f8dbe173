"""EKS ApplicationNetworkPolicy: NetworkPolicy plus domainNames peers, where a name
matches itself and `*.d` matches one or more labels below d (never d itself)."""
from __future__ import annotations

from weft.enforce.core.questions import HostEgress, IpEgress, Question
from weft.enforce.evaluators import l4
from weft.enforce.evaluators.base import Evaluator, evaluates


@evaluates("eks_application")
class EksApplicationEvaluator(Evaluator):
    def answer(self, documents: list[dict], q: Question) -> bool | None:
        if not isinstance(q, (HostEgress, IpEgress)):
            return None
        return any(self.allows(doc, q) for doc in documents)

    def allows(self, doc: dict, q: HostEgress | IpEgress) -> bool:
        rules = l4.egress_rules(doc)
        if rules is None:
            return True
        for rule in rules:
            if not l4.port_matches(rule.get("ports"), q.port, q.protocol):
                continue
            peers = rule.get("to")
            if not peers:
                return True
            for peer in peers:
                if isinstance(q, IpEgress) and "ipBlock" in peer and l4.in_ip_block(peer["ipBlock"], q.ip):
                    return True
                if isinstance(q, HostEgress) and any(domain_matches(d, q.host) for d in peer.get("domainNames", [])):
                    return True
        return False


def domain_matches(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern
