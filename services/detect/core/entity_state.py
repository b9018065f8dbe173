"""The entity index as JSON-ready data and back: every table as a sorted list of rows, so
the same index always writes the same text (detect persists it; a restart loads it)."""
from __future__ import annotations

from weft.detect.core.entity_index import MAX_FACTS, AgentFacts, EntityIndex

# tables of sets of tuples: index attribute -> how many key parts each row starts with
# (what derive() rebuilds from these, such as servers_of_session and accept_times, is not
# saved; states written before that still load: their extra tables are not read)
_SETS = {"service_accounts": 3, "addresses": 1, "egress": 1, "processes": 2, "mcp_clients": 1,
         "mcp_servers": 1, "connects": 1, "accepts": 1, "exchanges": 1, "pids": 2}
_MAPS = {"pods": 3, "workloads": 3}


def index_to_state(index: EntityIndex) -> dict:
    state: dict = {
        "agents": {name: {k: sorted(getattr(f, k)) for k in ("namespaces", "workloads", "service_accounts", "clusters")}
                   for name, f in sorted(index.agents.items())},
        "providers": dict(sorted(index.providers.items())),
        "events": sorted([k, *v] for k, v in index.events.items()),
    }
    for name, width in _MAPS.items():
        state[name] = sorted([*k, v] for k, v in getattr(index, name).items())
    for name, width in _SETS.items():
        rows = []
        for key, values in getattr(index, name).items():
            parts = list(key) if isinstance(key, tuple) else [key]
            rows.extend([*parts, *(list(v) if isinstance(v, tuple) else [v])] for v in values)
        state[name] = sorted(rows, key=repr)
    return state


def index_from_state(state: dict, max_facts: int = MAX_FACTS) -> EntityIndex:
    index = EntityIndex(max_facts)
    for name, f in state.get("agents", {}).items():
        index.agents[name] = AgentFacts(*(set(f.get(k, ())) for k in ("namespaces", "workloads",
                                                                      "service_accounts", "clusters")))
    index.providers.update(state.get("providers", {}))
    index.events.update({row[0]: (row[1], row[2]) for row in state.get("events", ())})
    for name, width in _MAPS.items():
        getattr(index, name).update({tuple(row[:width]): row[width] for row in state.get(name, ())})
    for name, width in _SETS.items():
        table = getattr(index, name)
        for row in state.get(name, ()):
            key = tuple(row[:width]) if width > 1 else row[0]
            rest = row[width:]
            table[key].add(tuple(rest) if len(rest) > 1 else rest[0])
    index.derive()
    return index
