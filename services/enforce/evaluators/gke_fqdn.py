"""GKE FQDNNetworkPolicy: names only (additive with NetworkPolicy, so it allows no
address by itself). `name` matches literally; in `pattern`, `*` is zero or more DNS
characters except the dot, and `*` alone is every name. Missing ports: all ports."""
from __future__ import annotations

import re

from weft.enforce.core.questions import HostEgress, IpEgress, Question
from weft.enforce.evaluators.base import Evaluator, evaluates


@evaluates("gke_fqdn")
class GkeFqdnEvaluator(Evaluator):
    def answer(self, documents: list[dict], q: Question) -> bool | None:
        if isinstance(q, IpEgress):
            return False
        if not isinstance(q, HostEgress):
            return None
        return any(self.matches(m, q.host) and self.ports_ok(rule.get("ports"), q)
                   for doc in documents for rule in doc.get("spec", {}).get("egress", [])
                   for m in rule.get("matches", []))

    @staticmethod
    def matches(match: dict, host: str) -> bool:
        host = host.lower().rstrip(".")
        if "name" in match:
            return match["name"].lower().rstrip(".") == host
        pattern = match.get("pattern", "").lower().rstrip(".")
        if pattern == "*":
            return True
        return re.fullmatch("".join("[-a-z0-9_]*" if c == "*" else re.escape(c) for c in pattern), host) is not None

    @staticmethod
    def ports_ok(ports: list[dict] | None, q: HostEgress) -> bool:
        if not ports:
            return True
        return any(p.get("protocol", "ALL") in ("ALL", q.protocol) and p.get("port", q.port) == q.port for p in ports)
