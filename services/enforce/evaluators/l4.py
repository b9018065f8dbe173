"""Kubernetes NetworkPolicy semantics shared by the targets built on it (NetworkPolicy,
EKS ApplicationNetworkPolicy): a rule's `to` and `ports`, where absent means any."""
from __future__ import annotations

import ipaddress


def port_matches(ports: list[dict] | None, port: int, protocol: str) -> bool:
    """Absent or empty: every port. protocol defaults to TCP; endPort closes a range."""
    if not ports:
        return True
    for p in ports:
        if p.get("protocol", "TCP").upper() != protocol:
            continue
        number = p.get("port")
        if number is None:
            return True
        if isinstance(number, str):  # a named port is the pod's business, not an address's
            continue
        if number <= port <= p.get("endPort", number):
            return True
    return False


def in_ip_block(block: dict, ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    network = ipaddress.ip_network(block["cidr"], strict=False)
    if address.version != network.version or address not in network:
        return False
    return not any(address in ipaddress.ip_network(e, strict=False) for e in block.get("except", [])
                   if ipaddress.ip_network(e, strict=False).version == address.version)


def egress_rules(doc: dict) -> list[dict] | None:
    """The egress rules, or None when the policy does not restrict egress at all."""
    spec = doc.get("spec", {})
    types = spec.get("policyTypes") or (["Ingress", "Egress"] if "egress" in spec else ["Ingress"])
    return spec.get("egress") or [] if "Egress" in types else None
