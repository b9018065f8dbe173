"""Kubernetes NetworkPolicy as the API server and CNI read it: egress is allowed when a
rule's `to` has an ipBlock holding the address (minus its excepts), or no `to` at all,
and its ports match. A name matches only a rule that allows every destination."""
from __future__ import annotations

from weft.enforce.core.questions import HostEgress, IpEgress, Question
from weft.enforce.evaluators import l4
from weft.enforce.evaluators.base import Evaluator, evaluates


@evaluates("networkpolicy")
class NetworkPolicyEvaluator(Evaluator):
    def answer(self, documents: list[dict], q: Question) -> bool | None:
        if not isinstance(q, (HostEgress, IpEgress)):
            return None
        return any(self.allows(doc, q) for doc in documents)

    @staticmethod
    def allows(doc: dict, q: HostEgress | IpEgress) -> bool:
        rules = l4.egress_rules(doc)
        if rules is None:
            return True
        for rule in rules:
            if not l4.port_matches(rule.get("ports"), q.port, q.protocol):
                continue
            peers = rule.get("to")
            if not peers:
                return True
            if isinstance(q, IpEgress) and any("ipBlock" in p and l4.in_ip_block(p["ipBlock"], q.ip) for p in peers):
                return True
        return False
