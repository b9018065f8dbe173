"""Is this behaviour in the agent's profile? The profile's own answer, as set lookups.

A runtime event shows one behaviour of its workload, keyed exactly as discovery's Observer
keys it when it learns a profile (`weft.discovery.core.classify`): exec (exe, args);
open (the path with its dynamic segments normalised); egress (host_of the DNS name, else
the address; port; TCP/UDP); model (provider, host_of host, model); mcp (server, tool).
LLM and MCP traffic where the workload is itself the model host or MCP server named (or
an MCP receipt, side "server") is not the agent's behaviour, as in the Observer.

Only a ready profile is a baseline (learning ones give no answer), and its baseline is
`Profile.baseline()`: what was seen before it became ready, plus accepted deviations.

Dimensions a baseline rule watches split the profile's deviations so that each one
raises exactly one of them: exec_path (an executable never run) or exec (a known
executable with a new command line); mcp_server (a server never called) or mcp_tool (a
new tool of a known server); file, egress, model; and data_reach (a file or egress
deviation: with an `after` on MCP_CALL it is "a tool call that reaches new data").
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from weft.discovery.core.agents import host_of
from weft.discovery.core.classify import PROTOCOLS
from weft.discovery.core.profiles import Behaviour, Profile, normalise_path
from weft.v1 import event_pb2

E = event_pb2.RuntimeEvent
# a behaviour's section: the profile's behaviour kind it is keyed as
EXEC, OPEN, EGRESS, MODEL, MCP = range(5)
KINDS = ("exec", "open", "egress", "model", "mcp")
DIMENSIONS: dict[str, frozenset[int]] = {
    "exec": frozenset({E.PROCESS_EXEC}), "exec_path": frozenset({E.PROCESS_EXEC}),
    "file": frozenset({E.FILE_OPEN}), "egress": frozenset({E.NETWORK_CONNECT}),
    "model": frozenset({E.LLM_REQUEST, E.LLM_RESPONSE}),
    "mcp_tool": frozenset({E.MCP_CALL}), "mcp_server": frozenset({E.MCP_CALL}),
    "data_reach": frozenset({E.FILE_OPEN, E.NETWORK_CONNECT}),
}
# the event fields a behaviour key is made of, per event kind
PATHS: dict[int, tuple[str, ...]] = {
    E.PROCESS_EXEC: ("process.exe", "process.args"),
    E.FILE_OPEN: ("file.path",),
    E.NETWORK_CONNECT: ("network.dns_name", "network.dst_ip", "network.dst_port", "network.protocol"),
    E.LLM_REQUEST: ("llm.provider", "llm.host", "llm.model"),
    E.LLM_RESPONSE: ("llm.provider", "llm.host", "llm.model"),
    E.MCP_CALL: ("mcp.server", "mcp.tool", "mcp.side"),
}
Check = tuple[int, tuple]          # (section, key)


@lru_cache(maxsize=1 << 16)
def hostname(value: str) -> str:
    """discovery's host_of, remembered: a name repeats across agents, its addresses do not."""
    return host_of(value)


def behaviour(kind: int, ev: E) -> tuple[Check | None, str | None]:
    """The behaviour an event shows, and the host it names when the workload may be that
    host (LLM, MCP: then the event is the server's side, not the agent's behaviour)."""
    if kind == E.PROCESS_EXEC:
        return (EXEC, (ev.process.exe, tuple(ev.process.args))), None
    if kind == E.FILE_OPEN:
        return (OPEN, (normalise_path(ev.file.path),)), None
    if kind == E.NETWORK_CONNECT:
        n = ev.network
        name = hostname(n.dns_name) if n.dns_name else n.dst_ip
        return (EGRESS, (name, n.dst_port, PROTOCOLS.get(n.protocol, "TCP"))), None
    if kind in (E.LLM_REQUEST, E.LLM_RESPONSE):
        m = ev.llm
        h = hostname(m.host)
        return (MODEL, (m.provider, h, m.model)), h or None
    if kind == E.MCP_CALL:
        m = ev.mcp
        if m.side == "server":
            return None, None
        return (MCP, (m.server, m.tool)), hostname(m.server) or None
    return None, None


class BehaviourIds:
    """Small ints for the behaviours profiles know, one table shared by every baseline:
    the hot path asks `id in agent's frozenset of ints` (no tuple compared), and a
    behaviour no profile knows has no id (-1) and is in no baseline."""

    def __init__(self) -> None:
        self._ids: dict[Check, int] = {}

    def add(self, check: Check) -> int:
        found = self._ids.get(check)
        if found is None:
            found = self._ids[check] = len(self._ids)
        return found

    def get(self, check: Check) -> int:
        return self._ids.get(check, -1)


@dataclass(frozen=True)
class Baseline:
    agent: str
    ready: bool
    known: frozenset[int] = frozenset()          # ids of every baseline behaviour
    exec_paths: frozenset[str] = frozenset()     # executables it ran
    mcp_servers: frozenset[str] = frozenset()    # MCP servers it called
    ready_at: int = 0                            # event time (epoch seconds) the profile became ready

    @classmethod
    def of(cls, profile: Profile, ids: BehaviourIds) -> Baseline:
        if (ready_at := profile.ready_at()) is None:
            return cls(profile.agent, False)
        base = profile.baseline()
        known = frozenset(ids.add((section, key)) for section, kind in enumerate(KINDS) for key in base[kind])
        return cls(profile.agent, True, known, frozenset(k[0] for k in base["exec"]),
                   frozenset(k[0] for k in base["mcp"]), ready_at)


def dimensions(check: Check, baseline: Baseline) -> tuple[str, ...]:
    """The dimension a behaviour outside the baseline deviates in."""
    section, key = check
    if section == EXEC:
        return ("exec",) if key[0] in baseline.exec_paths else ("exec_path",)
    if section == MCP:
        if key[0] not in baseline.mcp_servers:
            return ("mcp_server",)
        return ("mcp_tool",) if key[1] else ()
    if section == OPEN:
        return "file", "data_reach"
    if section == EGRESS:
        return "egress", "data_reach"
    return ("model",)


def describe(check: Check) -> str:
    """The behaviour as `weft profile accept` takes it (`egress host:443/TCP`)."""
    section, key = check
    return str(Behaviour(KINDS[section], key))
