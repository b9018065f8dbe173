"""What the intent itself answers to each question: the meaning of AgentPolicy, written
once, independent of any target. Names: `*.d` is exactly one label below d, `**.d` one or
more. Paths: a trailing `/` is the directory and everything below. AWS: actions match
case-insensitively with * and ?, resources case-sensitively. Azure: actions match
case-insensitively with *, a scope covers itself and what is below it. GCP: `name/*`
is anything below name, a grant without resources covers its whole project."""
from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

from weft.enforce.core import ir
from weft.enforce.core.questions import (AwsCall, AzureCall, Enforcing, Exec, FileAccess, Federation, GcpCall,
                                         HostEgress, IpEgress, Question, Syscall)

AUDIENCE = {"aws": "sts.amazonaws.com", "azure": "api://AzureADTokenExchange"}


def answer(policy: ir.Policy, q: Question) -> bool:
    match q:
        case HostEgress(host, port, proto):
            return any(name_matches(h, host) and port_allowed(h.ports, port, proto) for h in policy.hosts)
        case IpEgress(ip, port, proto):
            return any(ipaddress.ip_address(ip) in n.network and port_allowed(n.ports, port, proto)
                       for n in policy.networks)
        case Exec(path):
            return any(path_matches(e, path) for e in policy.executables)
        case FileAccess(path, write):
            return any(path_matches(f, path) and (f.write or not write) for f in policy.files)
        case Syscall(name):
            return name in policy.syscalls
        case AwsCall(action, resource):
            return any(any(glob(a, action, ci=True) for a in g.actions) and any(glob(r, resource) for r in g.resources)
                       for g in (policy.aws.grants if policy.aws else ()))
        case AzureCall(action, scope, data):
            return any(any(glob(a, action, ci=True) for a in (g.data_actions if data else g.actions))
                       and any(scope_covers(s, scope) for s in g.scopes)
                       for g in (policy.azure.grants if policy.azure else ()))
        case GcpCall():
            return _gcp(policy, q)
        case Federation(provider, cluster, issuer, subject, audience, _):
            return any(c.name == cluster and c.oidc_issuer == issuer for c in policy.clusters_of(provider)) \
                and subject == policy.selector.subject and audience == AUDIENCE.get(provider)
        case Enforcing():
            return policy.mode == "enforce"
    raise TypeError(f"no answer for {q!r}")


def name_matches(allow: ir.HostAllow, host: str) -> bool:
    host = host.lower().rstrip(".")
    if allow.wildcard == "exact":
        return host == allow.pattern
    below = host.removesuffix("." + allow.domain)
    if below == host or not below:
        return False
    return "." not in below if allow.wildcard == "one_label" else True


def port_allowed(ports: tuple[ir.PortRange, ...], port: int, protocol: str) -> bool:
    return not ports or any(p.first <= port <= p.last and p.protocol == protocol for p in ports)


def path_matches(allow: ir.PathAllow, path: str) -> bool:
    return path.startswith(allow.path) if allow.prefix else path == allow.path


def scope_covers(scope: str, asked: str) -> bool:
    scope, asked = scope.lower().rstrip("/"), asked.lower().rstrip("/")
    return asked == scope or asked.startswith(scope + "/")


def _gcp(policy: ir.Policy, q: GcpCall) -> bool:
    gcp = policy.gcp
    if gcp is None or q.principal != policy.gcp_principal:
        return False
    return any((q.role in g.roles if q.role else q.permission in g.permissions)
               and q.project == (g.project or gcp.project_number)
               and (not g.resources or any(_gcp_resource(r, q.resource) for r in g.resources))
               for g in gcp.grants)


def _gcp_resource(allowed: str, asked: str) -> bool:
    return asked.startswith(allowed[:-1]) if allowed.endswith("/*") else asked == allowed


def glob(pattern: str, value: str, ci: bool = False) -> bool:
    return _glob_regex(pattern, ci).fullmatch(value) is not None


@lru_cache(maxsize=4096)
def _glob_regex(pattern: str, ci: bool) -> re.Pattern:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE if ci else 0)
