"""`weft policy suggest AGENT`: an AgentPolicy from an agent's behaviour profile —
what it was seen to do, nothing more. Pure: the profile document
(weft.discovery.core.profiles.to_dict) in, the intent (a dict ready for YAML) out.

Exact names, ports, paths and executables as observed; an address seen without a
name becomes a /32 (or /128). Paths the profile generalised (a varying segment,
Kubescape's ⋯) become their directory. MCP servers reached over stdio run as the
agent's children: their executables are allowed, there is no URL to name."""
from __future__ import annotations

import ipaddress
import re
from collections import defaultdict

from weft.discovery.core.profiles import DYNAMIC
from weft.enforce.core.suggest_cloud import cloud_grants

API_VERSION, KIND = "weft.dev/v1alpha1", "AgentPolicy"


def suggest(profile: dict, *, mode: str = "audit", name: str = "", findings: list[dict] = ()) -> dict:
    """`findings`: posture's for this agent; their least-privilege fixes give spec.cloud."""
    namespace, _, workload = profile["agent"].partition("/")
    spec: dict = {"mode": mode, "selector": {"namespace": namespace, **({"workload": workload} if workload else {}),
                                             "clusters": sorted(profile.get("clusters", []))},
                  "egress": egress(profile), "executables": sorted({e["path"] for e in profile.get("execs", [])}),
                  "syscalls": sorted({s["name"] for s in profile.get("syscalls", [])}),
                  "files": files(profile), "mcp": mcp(profile),
                  "models": sorted({f"{m['provider']}/{m['model']}" for m in profile.get("models", []) if m.get("model")}),
                  "cloud": cloud_grants(list(findings))}
    return {"apiVersion": API_VERSION, "kind": KIND,
            "metadata": {"name": name or workload or namespace},
            "spec": {k: v for k, v in spec.items() if v != [] and v != {}}}


def egress(profile: dict) -> list[dict]:
    """One rule per (port, protocol): the names, or the addresses, reached on it."""
    names, cidrs = defaultdict(set), defaultdict(set)
    for e in profile.get("egress", []):
        key = (e["port"], e.get("protocol", "TCP"))
        try:
            ip = ipaddress.ip_address(e["name"])
        except ValueError:
            names[key].add(e["name"].rstrip(".").lower())
        else:
            cidrs[key].add(f"{ip}/{ip.max_prefixlen}")
    rules = [{"fqdns": sorted(v), "ports": [_port(*k)]} for k, v in sorted(names.items())]
    rules += [{"cidrs": sorted(v), "ports": [_port(*k)]} for k, v in sorted(cidrs.items())]
    return rules


def _port(port: int, protocol: str) -> dict:
    return {"port": port, "protocol": protocol}


def files(profile: dict) -> dict:
    read, write = set(), set()
    for o in profile.get("opens", []):
        path = _generalised(o["path"])
        flags = set(o.get("flags", []))
        (write if flags & {"O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND"} else read).add(path)
    out = {}
    if read - write:
        out["read"] = sorted(read - write)
    if write:
        out["write"] = sorted(write)
    return out


def _generalised(path: str) -> str:
    if DYNAMIC not in path:
        return path
    return path[:path.index(DYNAMIC)].rsplit("/", 1)[0] + "/"


def mcp(profile: dict) -> list[dict]:
    servers = defaultdict(set)
    for m in profile.get("mcp", []):
        url = _url(m["server"])
        if url:
            servers[url].add(m["tool"]) if m.get("tool") else servers[url]
    return [{"server": _server_name(url), "url": url, "tools": sorted(tools)} for url, tools in sorted(servers.items())]


def _url(server: str) -> str:
    """The MCP server's URL when it was reached over HTTP (the sensor names those
    host[:port]/path), else "" (a stdio server is named by its command)."""
    host = server.split("/", 1)[0]
    if "/" not in server and not re.match(r"^[^/:]+:\d+$", server):
        return ""
    if server.startswith(("http://", "https://")):
        return server
    port = host.rsplit(":", 1)[1] if ":" in host else ""
    return f"{'https' if port in ('', '443') else 'http'}://{server}"


def _server_name(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0].split(".", 1)[0]
