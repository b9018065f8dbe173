"""weft's sensor policy read the way the sensor applies it: addresses by CIDR, names by
their match kind (exact, one label below, any depth below), paths exact or by prefix."""
from __future__ import annotations

import ipaddress

from weft.enforce.core.questions import Enforcing, Exec, FileAccess, HostEgress, IpEgress, Question
from weft.enforce.evaluators.base import Evaluator, evaluates


@evaluates("sensor")
class SensorEvaluator(Evaluator):
    def answer(self, documents: list[dict], q: Question) -> bool | None:
        specs = [d["spec"] for d in documents]
        match q:
            case IpEgress(ip, port, proto):
                return any(ipaddress.ip_address(ip) in ipaddress.ip_network(c["cidr"]) and _ports(c["ports"], port, proto)
                           for s in specs for c in s["egress"]["cidrs"])
            case HostEgress(host, port, proto):
                return any(_name(f, host) and _ports(f["ports"], port, proto) for s in specs for f in s["egress"]["fqdns"])
            case Exec(path):
                return any(_path(e, path) for s in specs for e in s["executables"])
            case FileAccess(path, write):
                return any(_path(f, path) and (f.get("write") or not write) for s in specs for f in s["files"])
            case Enforcing():
                return all(s["mode"] == "enforce" for s in specs)
        return None


def _ports(ports: list[dict], port: int, proto: str) -> bool:
    return not ports or any(p["first"] <= port <= p["last"] and p["protocol"] == proto for p in ports)


def _name(entry: dict, host: str) -> bool:
    host, name = host.lower().rstrip("."), entry["name"].lower()
    if entry["match"] == "exact":
        return host == name
    if not host.endswith("." + name):
        return False
    below = host[: -len(name) - 1]
    return entry["match"] == "any_depth" or "." not in below


def _path(entry: dict, path: str) -> bool:
    return path.startswith(entry["path"]) if entry["prefix"] else path == entry["path"]
