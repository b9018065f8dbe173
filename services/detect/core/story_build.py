"""Building a story from its member signals (each with its resolution), the entity index
and the identity chains. Pure and deterministic: members are taken in (time, id) order,
and every list in the story is sorted, so the same members give the same story.

    story, deps = build_story(key, members, index, chains)
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from weft.detect.core import escalation
from weft.detect.core.chain_input import ChainBook
from weft.detect.core.entities import Resolution
from weft.detect.core.entity_index import EntityIndex
from weft.detect.core.escalation import CHAIN, Escalation, escalate, level, steps_of
from weft.detect.core.narrative import template
from weft.detect.core.signal_record import Signal
from weft.detect.core.story import (NEW, ChainLink, DataAccess, Destination, SignalRef, Stage, Story, StoryAgent,
                                    Trigger, story_id)
from weft.discovery.core.agents import agent_id

PROVIDER_ORDER = ("AWS", "AZURE", "GCP")
TRIGGER_WINDOW_MS = 10 * 60_000     # a model exchange this long before the first stage can be its trigger
STEP_RANK = {step: i for i, names in enumerate(CHAIN) for step in names}
STEP_WORDS = {escalation.ENTRY: "execution", escalation.INJECTION: "prompt injection",
              escalation.TOOL_MISUSE: "tool misuse", escalation.DATA_ACCESS: "data access",
              escalation.EXFILTRATION: "exfiltration"}


@dataclass(frozen=True)
class Member:
    signal: Signal
    resolution: Resolution


def build_story(key: str, members: list[Member], index: EntityIndex, chains: ChainBook,
                status: str = NEW, reason: str = "") -> tuple[Story, frozenset[str]]:
    members = sorted(members, key=lambda m: (m.signal.time_ms, m.signal.id))
    deps: set[str] = {"chains"}
    external = _external(index, deps)
    provider = _provider_of(members, index)
    steps = {m.signal.id: steps_of(m.signal, external) for m in members}
    esc = escalate([m.signal for m in members], lambda s: provider[s.id], steps)
    agent = _agent(key, members, index, deps)
    clusters = sorted({c for m in members for c in m.resolution.clusters} | set(agent.clusters if agent.id else ()))
    deps |= {f"cluster:{c}" for c in clusters}              # a cluster's cloud, once its sensor says
    providers = sorted({provider[m.signal.id] for m in members} | {index.providers.get(c, "") for c in clusters},
                       key=_provider_rank)
    stages = _stages(members, provider, steps)
    story = Story(
        id=story_id(key, members[0].signal.id), key=key, title=_title(esc, agent, members, providers),
        severity=esc.severity, severity_reasons=esc.reasons, providers=tuple(p for p in providers if p),
        clusters=tuple(clusters), agent=agent, identity_chain=_chain(agent.name, chains),
        stages=stages, signals=tuple(SignalRef(m.signal.source, m.signal.id, level(m.signal.severity_id),
                                               m.signal.time_ms, m.signal.event_ids) for m in members),
        accessed=_accessed(members, provider, steps), destinations=_destinations(members, steps, external, index),
        status=status, status_reason=reason, trigger=_trigger(agent.name, stages, index, deps))
    return replace(story, narrative=template(story)), frozenset(deps)


def _external(index: EntityIndex, deps: set[str]):
    def is_external(ip: str) -> bool:
        deps.add(f"ip:{ip}")
        return not index.in_fleet(ip)
    return is_external


def _provider_of(members: list[Member], index: EntityIndex) -> dict[str, str]:
    return {m.signal.id: m.signal.provider or next((index.providers[c] for c in m.resolution.clusters
                                                    if c in index.providers), "") for m in members}


def _provider_rank(p: str) -> tuple[int, str]:
    return (PROVIDER_ORDER.index(p) if p in PROVIDER_ORDER else len(PROVIDER_ORDER), p)


def _agent(key: str, members: list[Member], index: EntityIndex, deps: set[str]) -> StoryAgent:
    name = key.partition(":")[2] if key.startswith("agent:") else ""
    deps.add(f"agent:{name}")
    facts = index.agents.get(name)
    if facts:
        return StoryAgent(agent_id(name), name, min(facts.namespaces), min(facts.workloads),
                          min(facts.service_accounts, default=""), tuple(sorted(facts.clusters)))
    s = members[0].signal
    workload = next(iter(s.workloads), ("", "", ""))
    namespace = workload[1] or next(iter(ns for ns, _ in s.pods), "")
    account = next(iter(sa for _, sa in s.service_accounts), "")
    return StoryAgent(agent_id(name) if name else "", name, namespace, workload[2], account,
                      (s.cluster,) if s.cluster else ())


def _chain(agent: str, chains: ChainBook) -> tuple[ChainLink, ...]:
    links = [ChainLink(x.provider, x.principal, x.cluster) for c in chains.of_agent(agent) for x in c.links]
    return tuple(dict.fromkeys(links)) if agent else ()


def _primary_step(found: set[str]) -> str:
    return max(found, key=lambda x: (STEP_RANK[x], x)) if found else ""


def _stages(members: list[Member], provider: dict[str, str], steps: dict[str, set[str]]) -> tuple[Stage, ...]:
    groups: dict[tuple, list[Member]] = {}
    for m in members:
        s = m.signal
        step = _primary_step(steps[s.id])
        cluster = s.cluster or next(iter(m.resolution.clusters), "")
        groups.setdefault((step or _tactic(s), provider[s.id], cluster), []).append(m)
    stages = []
    for (name, where, cluster), found in groups.items():
        first = found[0].signal
        technique = next((f"{uid} {title}".strip() for m in found for uid, title in m.signal.techniques), "")
        summary = "; ".join(_said(m.signal, detail) for m, detail in _first_details(found))
        stages.append(Stage(first.time_ms, where, cluster, _tactic(first), technique, summary,
                            tuple(m.signal.id for m in found), name if name in STEP_RANK else ""))
    return tuple(sorted(stages, key=lambda x: (x.time_ms, x.provider, x.cluster, x.tactic, x.signals)))


def _first_details(found: list[Member]) -> list[tuple[Member, str]]:
    """One line per kind of signal (source, type, title), with the behaviour the first of
    them names (the MCP tool, the executable, the destination): repeats add nothing."""
    first: dict[tuple[str, str, str], tuple[Member, str]] = {}
    for m in found:
        s = m.signal
        first.setdefault((s.source, s.event_code, s.title), (m, s.detail))
    return list(first.values())


def _said(s: Signal, detail: str = "") -> str:
    """What one signal says, in a line: its source, its type, its title (once), and what it saw."""
    title = s.title.rstrip(". ")
    code = s.event_code if s.event_code and s.event_code != title else ""
    return (" ".join(x for x in (s.source, code) if x) + (f": {title}" if title else "")
            + (f" ({detail})" if detail else ""))


def _tactic(s: Signal) -> str:
    return s.tactics[0] if s.tactics else "Unknown"


def _accessed(members: list[Member], provider: dict[str, str],
              steps: dict[str, set[str]]) -> tuple[DataAccess, ...]:
    found: dict[tuple[str, str], str] = {}
    for m in members:
        s = m.signal
        mine = steps[s.id]
        if escalation.DATA_ACCESS not in mine and escalation.EXFILTRATION not in mine:
            continue
        for d in s.data:
            found.setdefault((provider[s.id], d.resource), f"{d.kind}: {s.source} {s.title}".strip())
        if escalation.DATA_ACCESS in mine and not s.data:
            for e in s.destinations:
                where = f"{e.host or e.ip}:{e.port}" if e.port else (e.host or e.ip)
                found.setdefault((provider[s.id], where), f"reached by {s.source} {s.title}")
    return tuple(DataAccess(p, r, d) for (p, r), d in sorted(found.items()))


def _destinations(members: list[Member], steps: dict[str, set[str]], external,
                  index: EntityIndex) -> tuple[Destination, ...]:
    found: dict[tuple[str, int], str] = {}
    sources: dict[tuple[str, int], set[str]] = {}
    for m in members:
        if escalation.EXFILTRATION not in steps[m.signal.id]:
            continue
        for e in m.signal.destinations:
            if e.ip and external(e.ip):
                found[(e.ip, e.port)] = found.get((e.ip, e.port)) or e.host
                sources.setdefault((e.ip, e.port), set()).update(_senders(m.signal, index))
    return tuple(Destination(ip, name, port, tuple(sorted(sources[(ip, port)])))
                 for (ip, port), name in sorted(found.items()))


def _senders(s, index: EntityIndex) -> set[str]:
    """The workloads a signal says sent the data (named, or through their pods): what
    containment must confine, as "cluster/namespace/workload"."""
    if not s.cluster:
        return set()
    named = {f"{ns}/{name}" for _kind, ns, name in s.workloads if ns and name}
    named |= {agent for ns, pod in s.pods if (agent := index.pods.get((s.cluster, ns, pod)))}
    return {f"{s.cluster}/{agent}" for agent in named}


def _trigger(agent: str, stages: tuple[Stage, ...], index: EntityIndex, deps: set[str]) -> Trigger | None:
    if not agent or not stages:
        return None
    deps.add(f"agent:{agent}")
    start = stages[0].time_ms
    before = sorted(x for x in index.exchanges.get(agent, ()) if start - TRIGGER_WINDOW_MS <= x[0] <= start)
    requests = [x for x in before if x[1] == "request"]
    responses = [x for x in before if x[1] == "response"]
    if not requests and not responses:
        return None
    last = (responses or requests)[-1]
    prompt = next((x[4] for x in reversed(requests) if x[0] <= last[0]), "")
    return Trigger(last[0], last[2], last[3], prompt, responses[-1][4] if responses else "")


def _title(esc: Escalation, agent: StoryAgent, members: list[Member], providers: list[str]) -> str:
    who = agent.name or agent.workload or members[0].signal.title
    clouds = ", ".join(p for p in providers if p)
    steps = [STEP_WORDS[escalation.INJECTION if _has(esc, escalation.INJECTION) and i == 0 else names[0]]
             for i, names in enumerate(CHAIN) if any(x.step in names for x in esc.steps)]
    if not steps:
        return f"{members[0].signal.title} on {who}" + (f" ({clouds})" if clouds else "")
    words = " → ".join(steps)
    return f"{words[0].upper()}{words[1:]} by {who}" + (f" across {clouds}" if clouds else "")


def _has(esc: Escalation, step: str) -> bool:
    return any(x.step == step for x in esc.steps)
