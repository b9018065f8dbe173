"""AgentPolicy intents (weft.dev/v1alpha1) as declarations of reach: which names,
MCP servers and tools an agent is declared to use, for posture to judge against its
profile. The intent's full meaning (and its validation) is enforce's; here only the
reach is read, leniently, and an unreadable intent is an error, not a guess."""
from __future__ import annotations

from dataclasses import dataclass

from weft.posture.core.model import Declaration, Source
from weft.posture.core.parsers import Parsed


@dataclass(frozen=True, kw_only=True)
class DeclaredReach(Declaration):
    policy: str
    agent: str                                 # <namespace>/<workload>
    hosts: tuple[str, ...] = ()                # fqdns as written (wildcards kept)
    mcp: tuple[tuple[str, str, tuple[str, ...]], ...] = ()   # (server, url, tools)


def is_agent_policy(record: dict) -> bool:
    return record.get("kind") == "AgentPolicy" and str(record.get("apiVersion", "")).startswith("weft.dev/")


def parse_agent_policy(record: dict, at: Source) -> Parsed:
    spec = record.get("spec")
    selector = spec.get("selector") if isinstance(spec, dict) else None
    if not isinstance(selector, dict) or not selector.get("namespace") or not selector.get("workload"):
        return [], [at.error("/spec/selector", "a selector with namespace and workload", repr(selector))]
    hosts = tuple(sorted({str(f).lower() for rule in spec.get("egress") or [] if isinstance(rule, dict)
                          for f in rule.get("fqdns") or []}))
    mcp = tuple(sorted((str(m.get("server", "")), str(m.get("url", "")), tuple(sorted(map(str, m.get("tools") or []))))
                       for m in spec.get("mcp") or [] if isinstance(m, dict)))
    name = (record.get("metadata") or {}).get("name", "")
    return [DeclaredReach(source=at, policy=str(name), agent=f"{selector['namespace']}/{selector['workload']}",
                          hosts=hosts, mcp=mcp)], []
