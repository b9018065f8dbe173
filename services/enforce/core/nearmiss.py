"""Questions generated from an intent: for each allowed item, the item itself and its near
misses. Near misses are where compilers go wrong: the name beside a wildcard, the address
beside a CIDR, the port after a range, the write to a read-only path, the action next to
an allowed one, the bucket whose name starts like the allowed one, another service
account in the same namespace."""
from __future__ import annotations

import ipaddress
import posixpath
from functools import lru_cache

from weft.enforce.core import ir
from weft.enforce.core.oracle import AUDIENCE, glob
from weft.enforce.core.questions import (AwsCall, AzureCall, Case, Enforcing, Exec, FileAccess, Federation, GcpCall,
                                         HostEgress, IpEgress, Syscall)

PROBE, OTHER = "weft-probe", "weft-other"
RISKY_SYSCALLS = ("ptrace", "mount", "bpf", "init_module", "unshare", "setns", "kexec_load")
VERB_SWAP = {"read": "write", "write": "delete", "delete": "write", "action": "read", "get": "delete",
             "list": "delete", "viewer": "admin", "user": "admin", "admin": "owner", "reader": "writer"}


def cases(policy: ir.Policy) -> list[Case]:
    found: list[Case] = [Case(Enforcing(), "spec.mode", "", f"mode {policy.mode}")]
    for h in policy.hosts:
        found += _host_cases(h)
    for n in policy.networks:
        found += _network_cases(n)
    for e in policy.executables:
        found += _path_cases(e, lambda p, w: Exec(p))
    for f in policy.files:
        found += _path_cases(f, FileAccess)
    found += _syscall_cases(policy)
    found += _aws_cases(policy) + _azure_cases(policy) + _gcp_cases(policy) + _federation_cases(policy)
    return list(dict.fromkeys(found))


def _ports_cases(ports: tuple[ir.PortRange, ...], make, origin: str, what: str) -> list[Case]:
    allowed = ports or (ir.PortRange(443, 443),)
    out = [Case(make(p.first, p.protocol), origin, "", f"{what} on an allowed port") for p in allowed]
    out += [Case(make(p.last, p.protocol), origin, "", f"{what} on the last port of a range")
            for p in allowed if p.last != p.first]
    if ports:
        taken = {(n, p.protocol) for p in ports for n in (p.first, p.last)}
        for p in ports:
            for n in (p.last + 1, p.first - 1):
                if 0 < n < 65536 and (n, p.protocol) not in taken:
                    out.append(Case(make(n, p.protocol), origin, "port", f"{what} on the port beside an allowed one"))
            other = "UDP" if p.protocol == "TCP" else "TCP"
            out.append(Case(make(p.first, other), origin, "protocol", f"{what} over {other} instead of {p.protocol}"))
    return out


def _host_cases(h: ir.HostAllow) -> list[Case]:
    port = h.ports[0].first if h.ports else 443
    proto = h.ports[0].protocol if h.ports else "TCP"
    d = h.domain
    if h.wildcard == "exact":
        names = [h.pattern]
        misses = [(f"{OTHER}-{h.pattern}", "a name that ends like it"), (f"{PROBE}.{h.pattern}", "a subdomain of it"),
                  (f"{h.pattern}.{OTHER}.example", "it as a prefix of another domain")]
        if d.count(".") >= 2:
            misses += [(f"{OTHER}.{d.split('.', 1)[1]}", "a sibling subdomain"), (d.split(".", 1)[1], "its parent")]
    else:
        names = [f"{PROBE}.{d}"] + ([f"a.{PROBE}.{d}"] if h.wildcard == "any_depth" else [])
        misses = [(d, "the domain under the wildcard itself"), (f"{PROBE}{d}", "a name that ends like it"),
                  (f"{PROBE}.{d}.{OTHER}.example", "it as a prefix of another domain")]
        if h.wildcard == "one_label":
            misses.append((f"a.{PROBE}.{d}", "two labels below a one-label wildcard"))
    out = [Case(HostEgress(n, port, proto), h.origin, "", f"a name {h.pattern} allows") for n in names]
    out += [Case(HostEgress(n, port, proto), h.origin, "host", why) for n, why in misses]
    return out + _ports_cases(h.ports, lambda p, pr: HostEgress(names[0], p, pr), h.origin, names[0])


def _network_cases(n: ir.NetworkAllow) -> list[Case]:
    first, last = n.network.network_address, n.network.broadcast_address
    port = n.ports[0].first if n.ports else 443
    proto = n.ports[0].protocol if n.ports else "TCP"
    out = [Case(IpEgress(str(a), port, proto), n.origin, "", f"an address in {n.network}")
           for a in dict.fromkeys((first, last))]
    for a, why in ((int(first) - 1, "the address just below the block"), (int(last) + 1, "the address just above it")):
        if 0 <= a < 2 ** n.network.max_prefixlen:
            out.append(Case(IpEgress(str(ipaddress.ip_address(a) if n.network.version == 4
                                         else ipaddress.IPv6Address(a)), port, proto), n.origin, "address", why))
    return out + _ports_cases(n.ports, lambda p, pr: IpEgress(str(first), p, pr), n.origin, str(first))


def _path_cases(allow: ir.PathAllow, make) -> list[Case]:
    origin, path = allow.origin, allow.path
    if allow.prefix:
        inside, deeper = path + PROBE, path + f"sub/{PROBE}"
        base = path.rstrip("/")
        out = [Case(make(inside, False), origin, "", f"a file in {path}"),
               Case(make(deeper, False), origin, "", f"a file deeper in {path}"),
               Case(make(f"{base}-{OTHER}/{PROBE}", False), origin, "path", "a sibling directory that starts like it"),
               Case(make(posixpath.join(posixpath.dirname(base) or "/", PROBE), False), origin, "path",
                    "a file beside the directory")]
    else:
        inside = path
        out = [Case(make(path, False), origin, "", "the path itself"),
               Case(make(path + "-" + OTHER, False), origin, "path", "a path that starts like it"),
               Case(make(posixpath.join(posixpath.dirname(path), OTHER), False), origin, "path", "a sibling path")]
    if make is FileAccess:
        out.append(Case(FileAccess(inside, True), origin, "" if allow.write else "access",
                        "writing it" + ("" if allow.write else " (read only)")))
    return out


def _syscall_cases(policy: ir.Policy) -> list[Case]:
    if not policy.syscalls:
        return []
    out = [Case(Syscall(s), policy.syscalls_origin, "", "an allowed syscall") for s in policy.syscalls]
    return out + [Case(Syscall(s), policy.syscalls_origin, "syscall", "a syscall not listed")
                  for s in RISKY_SYSCALLS if s not in policy.syscalls][:3]


def _concrete(pattern: str) -> str:
    return pattern.replace("*", PROBE).replace("?", "x")


def _beside(resource: str) -> str:
    """The resource whose name starts like the allowed one: acme/* -> acme-weft-other/weft-probe."""
    head, star, tail = resource.partition("*")
    if not star:
        return resource + f"-{OTHER}"
    core = head.rstrip("/:")
    return core + f"-{OTHER}" + head[len(core):] + _concrete(star + tail)


@lru_cache(maxsize=1)
def _aws_actions() -> tuple[str, ...]:
    from policyuniverse import all_permissions
    return tuple(sorted(all_permissions))


def _aws_cases(policy: ir.Policy) -> list[Case]:
    out: list[Case] = []
    allowed = [a for g in (policy.aws.grants if policy.aws else ()) for a in g.actions]
    for g in policy.aws.grants if policy.aws else ():
        for action in g.actions:
            concrete = _aws_example(action)
            sibling = _aws_sibling(action, allowed)
            for r in g.resources:
                out.append(Case(AwsCall(concrete, _concrete(r)), g.origin, "", f"an allowed call on {r}"))
                if r != "*":
                    out.append(Case(AwsCall(concrete, _beside(r)), g.origin, "resource", "a resource named like it"))
                if sibling:
                    out.append(Case(AwsCall(sibling, _concrete(r)), g.origin, "action",
                                    f"another action of {action.split(':')[0]}"))
    return out


def _aws_example(action: str) -> str:
    if "*" not in action and "?" not in action:
        return action
    return next((a for a in _aws_actions() if glob(action, a, ci=True)), _concrete(action))


def _aws_sibling(action: str, allowed: list[str]) -> str | None:
    service = action.split(":")[0].lower() + ":"
    return next((a for a in _aws_actions() if a.startswith(service) and not any(glob(p, a, ci=True) for p in allowed)),
                None)


def _swap_verb(name: str, sep: str) -> str:
    head, _, verb = name.rpartition(sep)
    for old, new in VERB_SWAP.items():
        if verb.lower().endswith(old):
            return f"{head}{sep}{verb[: len(verb) - len(old)]}{new if verb[-len(old)].islower() else new.capitalize()}"
    return f"{head}{sep}{verb}{OTHER}"


def _azure_cases(policy: ir.Policy) -> list[Case]:
    out: list[Case] = []
    for g in policy.azure.grants if policy.azure else ():
        for data, actions in ((False, g.actions), (True, g.data_actions)):
            for action in actions:
                concrete = _concrete(action)
                for scope in g.scopes:
                    out += [Case(AzureCall(concrete, scope, data), g.origin, "", "an allowed action at its scope"),
                            Case(AzureCall(_swap_verb(concrete, "/"), scope, data), g.origin, "action",
                                 "another action of the same resource type"),
                            Case(AzureCall(concrete, scope, not data), g.origin, "plane",
                                 "the same name on the other plane (action vs dataAction)"),
                            Case(AzureCall(concrete, scope.rstrip("/") + f"-{OTHER}", data), g.origin, "scope",
                                 "a sibling scope named like it"),
                            Case(AzureCall(concrete, scope.rsplit("/", 2)[0], data), g.origin, "scope",
                                 "the scope above it")]
    return out


def _gcp_cases(policy: ir.Policy) -> list[Case]:
    gcp, me = policy.gcp, policy.gcp_principal
    if not gcp or not me:
        return []
    others = [(me.replace(f"/sa/{policy.selector.service_account}", f"/sa/{OTHER}"), "another service account "
               "in the namespace"), (me.replace(f"/ns/{policy.selector.namespace}/", f"/ns/{OTHER}/"),
                                     "the same service account in another namespace")]
    out: list[Case] = []
    for g in gcp.grants:
        project = g.project or gcp.project_number
        resources = [(_concrete(r), _beside(r)) for r in g.resources] or [(f"projects/{project}/{PROBE}", None)]
        asks = [{"role": r} for r in g.roles] + [{"permission": p} for p in g.permissions]
        for ask in asks:
            kind, value = next(iter(ask.items()))
            for resource, beside in resources:
                out.append(Case(GcpCall(me, resource, project, **ask), g.origin, "", f"an allowed {kind}"))
                out.append(Case(GcpCall(me, resource, project, **{kind: _swap_verb(value, ".")}), g.origin, kind,
                                f"another {kind} of the same service"))
                out += [Case(GcpCall(p, resource, project, **ask), g.origin, "principal", why) for p, why in others]
                out.append(Case(GcpCall(me, resource, "1" + project[1:] if project[0] != "1" else "2" + project[1:],
                                        **ask), g.origin, "project", "the same call in another project"))
                if beside:
                    out.append(Case(GcpCall(me, beside, project, **ask), g.origin, "resource",
                                    "a resource named like it"))
    return out


def _federation_cases(policy: ir.Policy) -> list[Case]:
    sel, subject = policy.selector, policy.selector.subject
    if not subject:
        return []
    out: list[Case] = []
    for provider, audience in AUDIENCE.items():
        identity = policy.azure.identity_name or "" if provider == "azure" and policy.azure else ""
        for c in policy.clusters_of(provider):
            if not c.oidc_issuer:
                continue

            def ask(issuer: str = c.oidc_issuer, sub: str = subject, aud: str = audience) -> Federation:
                return Federation(provider, c.name, issuer, sub, aud, identity)
            origin = "spec.selector.serviceAccount"
            out += [Case(ask(), origin, "", f"the agent's service account on {c.name}"),
                    Case(ask(sub=f"system:serviceaccount:{sel.namespace}:{OTHER}"), origin, "subject",
                         "another service account in the namespace"),
                    Case(ask(sub=f"system:serviceaccount:{OTHER}:{sel.service_account}"), origin, "subject",
                         "the same service account name in another namespace"),
                    Case(ask(aud=f"{OTHER}-audience"), origin, "audience", "a token for another audience"),
                    Case(ask(issuer=f"https://oidc.{OTHER}.example/id/{PROBE}"), origin, "issuer",
                         "a token from another issuer")]
    return out
