"""Reach declared in an agent's intent and never used: MCP servers and tools, and
names, its AgentPolicy allows that its behaviour profile never shows it calling."""
from __future__ import annotations

from fnmatch import fnmatch
from typing import Iterable

from weft.discovery.core.profiles import Profile
from weft.posture.core.declarations.agent_policy import DeclaredReach
from weft.posture.core.findings.model import Finding, Fix, Kind, Severity


def unused_declared_reach(reaches: Iterable[DeclaredReach], profiles: Iterable[Profile]) -> list[Finding]:
    by_agent = {p.agent: p for p in profiles}
    found = []
    for r in sorted(reaches, key=lambda r: (r.agent, r.policy)):
        profile = by_agent.get(r.agent)
        if profile is None:
            continue   # never seen: nothing to judge by
        unused_tools, unused_servers = _tools(r, profile)
        unused_hosts = [h for h in r.hosts if not _host_used(h, profile)]
        if unused_tools or unused_servers or unused_hosts:
            found.append(_finding(r, profile, unused_tools, unused_servers, unused_hosts))
    return found


def _tools(r: DeclaredReach, profile: Profile) -> tuple[list[str], list[str]]:
    called = {(server, tool) for server, tool in profile.items["mcp"]}
    tools, servers = [], []
    for server, url, declared in r.mcp:
        address = url.split("://", 1)[-1]
        used = {tool for s, tool in called if s == address or s.split("/", 1)[0] == address.split("/", 1)[0]}
        if not used:
            servers.append(server or url)
        tools += [f"{server}:{t}" for t in declared if t not in used]
    return tools, servers


def _host_used(pattern: str, profile: Profile) -> bool:
    names = {k[0].lower().rstrip(".") for k in profile.items["egress"]} | {
        k[0].lower().rstrip(".") for k in profile.items["dns"]}
    glob = pattern.replace("**.", "*.")
    return any(n == pattern or fnmatch(n, glob) for n in names)


def _finding(r: DeclaredReach, profile: Profile, tools: list[str], servers: list[str], hosts: list[str]) -> Finding:
    parts = [f"{len(servers)} MCP servers" if servers else "", f"{len(tools)} tools" if tools else "",
             f"{len(hosts)} destinations" if hosts else ""]
    return Finding(Kind.UNUSED_TOOL_REACH, Severity.LOW, "", f"{r.agent}#{r.policy}",
                   f"{r.agent} is declared to reach {', '.join(p for p in parts if p)} it never used",
                   r.agent, (), {"policy": r.policy, "unusedMcpServers": servers, "unusedTools": tools,
                                 "unusedDestinations": hosts, "profile": {"status": profile.status,
                                                                          "firstSeen": profile.first_seen,
                                                                          "lastSeen": profile.last_seen}},
                   Fix(f"Remove them from AgentPolicy {r.policy} (spec.mcp and spec.egress), or accept that "
                       "they are kept for behaviour not seen yet", "weft_agent_policy"))
