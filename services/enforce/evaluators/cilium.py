"""CiliumNetworkPolicy as the agent enforces it. A name is reachable when a toFQDNs
selector matches it on the port AND a DNS rule lets the lookup through the DNS proxy
(toFQDNs learns addresses only from lookups the proxy sees). matchPattern: `*` alone
matches every name; elsewhere `*` stands for any run of DNS characters except the dot."""
from __future__ import annotations

import ipaddress
import re

from weft.enforce.core.questions import HostEgress, IpEgress, Question
from weft.enforce.evaluators.base import Evaluator, evaluates

WORLD = {"world", "all", "world-ipv4", "world-ipv6"}


@evaluates("cilium")
class CiliumEvaluator(Evaluator):
    def answer(self, documents: list[dict], q: Question) -> bool | None:
        if not isinstance(q, (HostEgress, IpEgress)):
            return None
        rules = [r for d in documents for r in d.get("spec", {}).get("egress") or []]
        if not any(d.get("spec", {}).get("egress") is not None for d in documents):
            return True  # no egress section: egress is not restricted by these policies
        if isinstance(q, IpEgress):
            return any(self.ports_ok(r, q) and (self.world(r) or self.cidr_ok(r, q.ip)) for r in rules)
        if any(self.ports_ok(r, q) and self.world(r) for r in rules):
            return True
        resolvable = any(self.dns_allows(r, q.host) for r in rules)
        return resolvable and any(self.ports_ok(r, q) and any(selector_matches(s, q.host) for s in r.get("toFQDNs", []))
                                  for r in rules)

    @staticmethod
    def world(rule: dict) -> bool:
        if set(rule.get("toEntities", [])) & WORLD:
            return True
        cidrs = rule.get("toCIDR", []) + [c.get("cidr", "") for c in rule.get("toCIDRSet", [])]
        return any(c in ("0.0.0.0/0", "::/0") for c in cidrs)

    @staticmethod
    def cidr_ok(rule: dict, ip: str) -> bool:
        address = ipaddress.ip_address(ip)
        sets = [{"cidr": c} for c in rule.get("toCIDR", [])] + rule.get("toCIDRSet", [])
        for s in sets:
            if "cidr" not in s:
                continue
            net = ipaddress.ip_network(s["cidr"], strict=False)
            if net.version == address.version and address in net and not any(
                    address in ipaddress.ip_network(e, strict=False) for e in s.get("except", [])):
                return True
        return False

    @staticmethod
    def ports_ok(rule: dict, q: HostEgress | IpEgress) -> bool:
        to_ports = rule.get("toPorts")
        if not to_ports:
            return True
        for entry in to_ports:
            for p in entry.get("ports") or []:
                proto = p.get("protocol", "ANY")
                first = int(p["port"]) if str(p.get("port", "0")).isdigit() else None
                if first is None or proto not in ("ANY", q.protocol):
                    continue
                if first == 0 or first <= q.port <= p.get("endPort", first):
                    return True
        return False

    @staticmethod
    def dns_allows(rule: dict, host: str) -> bool:
        if not any(_selects_kube_dns(e) for e in rule.get("toEndpoints", [])):
            return False
        for entry in rule.get("toPorts") or []:
            on_53 = any(str(p.get("port")) == "53" for p in entry.get("ports") or [])
            if on_53 and any(selector_matches(s, host) for s in (entry.get("rules") or {}).get("dns", [])):
                return True
        return False


def _selects_kube_dns(selector: dict) -> bool:
    labels = {k.removeprefix("k8s:"): v for k, v in selector.get("matchLabels", {}).items()}
    return labels.get("k8s-app") == "kube-dns"


def selector_matches(selector: dict, host: str) -> bool:
    host = host.lower().rstrip(".")
    if "matchName" in selector:
        return selector["matchName"].lower().rstrip(".") == host
    pattern = selector.get("matchPattern", "").lower().rstrip(".")
    if pattern == "*":
        return True
    regex = "".join("[-a-z0-9_]*" if c == "*" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, host) is not None
