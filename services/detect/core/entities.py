"""Entity resolution: which logical agent a signal is about, whatever its source calls it.

A signal names the agent directly, in the first way that answers:
  its runtime events (weft's own detections, by their MCP calls) > a pod > a workload
  > a process on its node, or its parent (process lineage: the node and pids the source
  names, against the sensor's execs) > a service account > a principal, through the
  identity chains (Kubernetes SA, AWS role or session, Azure managed identity or app,
  GCP principal) > a workload address > an executable in a cluster;
and when none does, its workload's logical name (`<namespace>/<workload>`) as the source
wrote it. From that agent, resolution walks the calls into it back to the agent that
started them (an MCP session seen on both ends, a connection from one cluster accepted
in another), nearest in event time, so that the AKS MCP server's alert and the GKE
storage tool's join the story of the EKS agent that called them. That agent is the
correlation key; a signal naming nothing resolvable is keyed by what it does name.

Every lookup is recorded as a dependency token, hit or miss, so correlation knows which
signals to look at again when the index or the chains learn something.
"""
from __future__ import annotations

from dataclasses import dataclass

from weft.detect.core.call_edges import VIA_RANK, Call, calls_into
from weft.detect.core.chain_input import ChainBook
from weft.detect.core.entity_index import EntityIndex, any_cluster
from weft.detect.core.principal_keys import principal_keys
from weft.detect.core.signal_record import Signal
from weft.discovery.core.agents import logical_name

MAX_HOPS = 4
LOOKBACK_MS = 15 * 60_000       # a call up to this long before a signal can have led to it
LOOKAHEAD_MS = 60_000           # providers stamp some alerts a little before the call they follow


@dataclass(frozen=True)
class Resolution:
    key: str                        # "agent:<name>", else "workload:…", "principal:…", "signal:<id>"
    agent: str                      # the root logical agent ("" when none)
    direct: str                     # the agent the signal itself names ("" when none)
    how: str                        # how the direct agent was found
    path: tuple[Call, ...]          # calls from the root down to the direct agent
    clusters: tuple[str, ...]       # clusters the signal happened in, as far as known
    deps: frozenset[str]


def resolve(signal: Signal, index: EntityIndex, chains: ChainBook) -> Resolution:
    deps: set[str] = set()
    direct, how = _direct(signal, index, chains, deps)
    clusters = set(_clusters(signal, index, deps))
    if not direct:
        return Resolution(_fallback_key(signal), "", "", "none", (), tuple(sorted(clusters)), frozenset(deps))
    path = _callers(direct, signal, index, deps)
    for call in path:
        clusters |= index.agents[call.callee].clusters if call.callee in index.agents else set()
    root = path[0].caller if path else direct
    clusters |= index.agents[root].clusters if root in index.agents and path else set()
    return Resolution(f"agent:{root}", root, direct, how, path, tuple(sorted(clusters)), frozenset(deps))


def _direct(s: Signal, index: EntityIndex, chains: ChainBook, deps: set[str]) -> tuple[str, str]:
    for event_id in s.event_ids:
        deps.add(f"event:{event_id}")
        if event_id in index.events:
            return index.events[event_id][0], "runtime event"
    for token, table, names in (("pod", index.pods, [(ns, n) for ns, n in s.pods]),
                                ("workload", index.workloads, [(ns, n) for _, ns, n in s.workloads])):
        for ns, name in names:
            found = _in_cluster(table, token, s.cluster, ns, name, deps)
            if found:
                return found, token
    if s.host:
        found = _process_owner(s, index, deps)
        if found:
            return found, "process lineage"
    for ns, name in s.service_accounts:
        found = _unique_agent(_sa_agents(index, s.cluster, ns, name, deps))
        if found:
            return found, "service account"
    for principal in (*s.principals, *(f"system:serviceaccount:{ns}:{n}" for ns, n in s.service_accounts)):
        deps.update(f"principal:{k}" for k in principal_keys(principal))
        found = _unique_agent(chains.agents_for(principal))
        if found:
            return found, "identity chain"
    for ip in s.ips:
        deps.add(f"ip:{ip}")
        owners = {a for c, a in index.addresses.get(ip, ()) if not s.cluster or c == s.cluster}
        if _unique_agent(owners):
            return _unique_agent(owners), "address"
    for exe in s.processes:
        deps.update(any_cluster("proc", s.cluster or "*", exe)[:1])
        found = _unique_agent({a for (c, e), agents in index.processes.items() if e == exe
                               and (not s.cluster or c == s.cluster) for a in agents})
        if found:
            return found, "process"
    for _, ns, name in s.workloads[:1]:
        return logical_name(ns, name), "workload named by the source"
    return "", ""


def _in_cluster(table: dict, token: str, cluster: str, ns: str, name: str, deps: set[str]) -> str:
    mine, anywhere = any_cluster(token, cluster or "*", f"{ns}/{name}")
    deps.update((mine, anywhere))
    found = table.get((cluster, ns, name), "") if cluster else ""
    return found or _unique_agent({a for (c, n, w), a in table.items() if n == ns and w == name})


def _sa_agents(index: EntityIndex, cluster: str, ns: str, name: str, deps: set[str]) -> set[str]:
    deps.update(any_cluster("sa", cluster or "*", f"{ns}/{name}"))
    found = index.service_accounts.get((cluster, ns, name), set()) if cluster else set()
    return found or {a for (c, n, sa), agents in index.service_accounts.items() if n == ns and sa == name
                     for a in agents}


def _process_owner(s: Signal, index: EntityIndex, deps: set[str]) -> str:
    """The agent that ran the signal's process (or, failing that, its parent) on its node:
    the exec of that pid nearest before the signal (pids are reused)."""
    for pid in s.pids:
        deps.add(f"pid:{s.host}/{pid}")
        seen = [x for x in index.pids.get((s.host, pid), ()) if x[0] <= s.time_ms + LOOKAHEAD_MS]
        if seen:
            return max(seen)[1]
    return ""


def _unique_agent(agents: set[str]) -> str:
    return next(iter(agents)) if len(agents) == 1 else ""


def _clusters(s: Signal, index: EntityIndex, deps: set[str]) -> list[str]:
    found = [s.cluster] if s.cluster else []
    for ip in s.ips:
        deps.add(f"ip:{ip}")
        found += sorted(index.egress.get(ip, ()))
    return found


def _callers(agent: str, s: Signal, index: EntityIndex, deps: set[str]) -> tuple[Call, ...]:
    """The calls that led to `agent` being active at the signal's time, root first."""
    path: list[Call] = []
    seen, at, exact = {agent}, s.time_ms, set(s.event_ids)
    for _ in range(MAX_HOPS):
        deps.add(f"agent:{agent}")
        call = _nearest(calls_into(index, agent), at, exact)
        if call is None or call.caller in seen:
            break
        path.insert(0, call)
        seen.add(call.caller)
        agent, at, exact = call.caller, call.time_ms, set()
    return tuple(path)


def _nearest(calls: list[Call], at: int, exact: set[str]) -> Call | None:
    named = [c for c in calls if c.callee_event and c.callee_event in exact]
    if named:
        return min(named)
    near = [c for c in calls if at - LOOKBACK_MS <= c.time_ms <= at + LOOKAHEAD_MS]
    return min(near, key=lambda c: (c.time_ms > at, abs(at - c.time_ms), VIA_RANK[c.via], c.caller), default=None)


def _fallback_key(s: Signal) -> str:
    for ns, name in s.pods:
        return f"pod:{s.cluster}/{ns}/{name}"
    for ns, name in s.service_accounts:
        return f"serviceaccount:{s.cluster}/{ns}/{name}"
    for principal in s.principals:
        return f"principal:{principal_keys(principal)[-1]}"
    return f"signal:{s.source}:{s.id}"
