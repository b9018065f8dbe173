"""Behaviour profiles: per logical agent, what it executes, opens, reaches (names, addresses,
ports), listens on, which models and which MCP servers and tools it calls, merged across
every cluster it runs in. Pure data and functions.

A profile remembers, for each behaviour, the event time it was first seen; that is its
whole learnt state, so merging is a pointwise minimum (plus unions and maxima of the
rest): merge(a, b) == merge(b, a), merge is associative, and replaying the same events
gives the same profile. Whether a behaviour is baseline or a deviation is derived from
those times and the learning window, never stored:

- the profile is `learning` from its first event; it becomes `ready` at the earlier of
  first event + `duration`, and (when `quiet` is set) the end of the first `quiet` seconds
  in which no new behaviour appeared; all on event time;
- behaviour first seen up to that moment is the baseline; behaviour first seen after it
  is a deviation until a user accepts it (`accept`). A ready profile never grows by itself.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Iterable

from weft.discovery.core.agents import agent_id

KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "exec": ("path", "args"), "open": ("path",), "egress": ("name", "port", "protocol"),
    "dns": ("name",), "ingress": ("port", "protocol"), "model": ("provider", "host", "model"),
    "mcp": ("server", "tool"), "syscall": ("name",)}
SECTIONS = {"exec": "execs", "open": "opens", "egress": "egress", "dns": "dns", "ingress": "ingress",
            "model": "models", "mcp": "mcp", "syscall": "syscalls"}
CONTAINER_FIELDS = ("namespace", "workload", "name", "image")
LEARNING, READY = "learning", "ready"
DYNAMIC = "\u22ef"   # Kubescape's marker for a path segment that varies
_DYNAMIC_SEGMENT = re.compile(
    r"(?<=/)(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,}|tmp[a-z0-9_]{8})(?=/|$)")


@dataclass(frozen=True)
class LearningWindow:
    duration: int = 24 * 3600       # seconds of event time after the first event
    quiet: int | None = None        # ready sooner after this many seconds without new behaviour

    def __post_init__(self):
        if self.duration <= 0 or (self.quiet is not None and self.quiet <= 0):
            raise ValueError(f"learning window durations must be positive: {self}")


DEFAULT_WINDOW = LearningWindow()


@dataclass(frozen=True, order=True)
class Behaviour:
    kind: str            # one of KIND_FIELDS
    key: tuple           # values of KIND_FIELDS[kind]; exec args are a tuple

    def __str__(self) -> str:
        return f"{self.kind} {self.text}"

    @property
    def text(self) -> str:
        """The behaviour as users read and type it, without its kind."""
        k = self.key
        if self.kind == "exec":
            return " ".join([k[0], *k[1]])
        if self.kind == "egress":
            return f"{k[0]}:{k[1]}/{k[2]}"
        if self.kind == "ingress":
            return f":{k[0]}/{k[1]}"
        if self.kind == "model":
            return f"{k[0]}/{k[2]}@{k[1]}"
        return " ".join(str(x) for x in k if x != "")


@dataclass(frozen=True, order=True)
class Deviation:
    at: int                 # event time the behaviour was first seen
    agent: str
    behaviour: Behaviour
    where: str = field(default="", compare=False)   # cluster/namespace/workload, when known


def normalise_path(path: str) -> str:
    """Segments that change per run (pids, uuids, hashes, temp names) become `⋯`."""
    return _DYNAMIC_SEGMENT.sub(DYNAMIC, path)


@dataclass
class Profile:
    agent: str
    window: LearningWindow = DEFAULT_WINDOW
    first_seen: int = 0                     # event times, epoch seconds; 0: nothing seen yet
    last_seen: int = 0
    clock: int = 0                          # the latest event time known when last updated
    items: dict[str, dict[tuple, int]] = field(default_factory=lambda: {k: {} for k in KIND_FIELDS})
    open_flags: dict[str, set[str]] = field(default_factory=dict)
    egress_addresses: dict[str, set[str]] = field(default_factory=dict)
    accepted: set[Behaviour] = field(default_factory=set)
    workloads: set[tuple[str, str, str, str]] = field(default_factory=set)   # cluster, namespace, kind, name
    containers: set[tuple[str, str, str, str]] = field(default_factory=set)  # namespace, workload, name, image
    _ready: int | None = field(default=None, compare=False, repr=False)     # ready time by items alone
    _last: int = field(default=0, compare=False, repr=False)                # latest baseline item time
    _dirty: bool = field(default=True, compare=False, repr=False)

    @property
    def id(self) -> str:
        return agent_id(self.agent)

    @property
    def clusters(self) -> list[str]:
        return sorted({w[0] for w in self.workloads})

    def saw(self, t: int) -> None:
        """An event of this agent at event time t."""
        if not self.first_seen or t < self.first_seen:
            self.first_seen, self._dirty = t, True
        if t > self.last_seen:
            self.last_seen = t
        if t > self.clock:
            self.clock = t

    def add(self, kind: str, key: tuple, t: int) -> Behaviour | None:
        """Record behaviour seen at t; returns it when it is a new deviation to report."""
        times = self.items[kind]
        old = times.get(key)
        if old is not None:
            if t < old:
                times[key], self._dirty = t, True
            return None
        times[key] = t
        if self._dirty:
            self._recompute()
        if self._ready is None:
            ready = self._candidate(self._last)
            if t <= ready:
                self._last = max(self._last, t)
                return None
            self._ready = ready
        elif t <= self._ready:   # late baseline: it may move the ready time
            self._dirty = True
            return None
        b = Behaviour(kind, key)
        return None if b in self.accepted else b

    def ready_at(self) -> int | None:
        if self._dirty:
            self._recompute()
        if self._ready is not None:
            return self._ready
        ready = self._candidate(self._last)
        return ready if self.first_seen and max(self.clock, self.last_seen) >= ready else None

    @property
    def status(self) -> str:
        return LEARNING if self.ready_at() is None else READY

    def baseline(self) -> dict[str, dict[tuple, int]]:
        ready = self.ready_at()
        return {kind: {k: t for k, t in times.items()
                       if ready is None or t <= ready or Behaviour(kind, k) in self.accepted}
                for kind, times in self.items.items()}

    def deviations(self) -> list[Deviation]:
        ready = self.ready_at()
        if ready is None:
            return []
        return sorted(Deviation(t, self.agent, Behaviour(kind, k)) for kind, times in self.items.items()
                      for k, t in times.items() if t > ready and Behaviour(kind, k) not in self.accepted)

    def _candidate(self, last: int) -> int:
        by_duration = self.first_seen + self.window.duration
        return by_duration if self.window.quiet is None else min(by_duration, last + self.window.quiet)

    def _recompute(self) -> None:
        """The ready time decided by item times alone: walk them in time order until one
        comes after the moment the window closed."""
        self._ready, self._last, self._dirty = None, self.first_seen, False
        for t in sorted(t for times in self.items.values() for t in times.values()):
            ready = self._candidate(self._last)
            if t > ready:
                self._ready = ready
                return
            self._last = max(self._last, t)


def merge(a: Profile, b: Profile) -> tuple[Profile, list[Deviation]]:
    """One profile from two (clusters, replicas, stored + new); with the deviations the
    merge brought to light: pending in the result and pending in neither input."""
    if a.agent != b.agent or a.window != b.window:
        raise ValueError(f"cannot merge profiles of {a.agent!r} ({a.window}) and {b.agent!r} ({b.window})")
    firsts = [x for x in (a.first_seen, b.first_seen) if x]
    out = Profile(a.agent, a.window, min(firsts, default=0), max(a.last_seen, b.last_seen), max(a.clock, b.clock))
    for kind in KIND_FIELDS:
        times = out.items[kind] = dict(a.items[kind])
        for k, t in b.items[kind].items():
            if k not in times or t < times[k]:
                times[k] = t
    for name in ("open_flags", "egress_addresses"):
        target = getattr(out, name)
        for source in (getattr(a, name), getattr(b, name)):
            for k, v in source.items():
                target.setdefault(k, set()).update(v)
    out.accepted = a.accepted | b.accepted
    out.workloads = a.workloads | b.workloads
    out.containers = a.containers | b.containers
    known = {d.behaviour for d in (*a.deviations(), *b.deviations())}
    return out, [d for d in out.deviations() if d.behaviour not in known]


def accept(profile: Profile, selectors: Iterable[str] | None = None) -> Profile:
    """`weft profile accept AGENT [SELECTOR…]`: a copy of the profile whose baseline also
    holds the chosen deviations. A selector is a deviation as printed (`egress
    api.example.com:443/TCP`) or a kind (`egress`); none accepts every pending one."""
    pending = [d.behaviour for d in profile.deviations()]
    chosen = set(pending)
    if selectors is not None:
        chosen = set()
        for s in selectors:
            found = [b for b in pending if s in (str(b), b.kind)]
            if not found:
                listed = "; ".join(map(str, pending)) or "none"
                raise ValueError(f"{s!r} names no pending deviation of {profile.agent}; pending: {listed}")
            chosen.update(found)
    out = copy.deepcopy(profile)
    out.accepted |= chosen
    return out


def to_dict(profile: Profile) -> dict:
    """JSON-ready: the baseline by section, pending deviations apart, times in epoch
    seconds of event time. `status`, `readyAt`, `id` and `clusters` are derived."""
    p = profile
    base = p.baseline()
    out = {"agent": p.agent, "id": p.id, "status": p.status, "readyAt": p.ready_at(),
           "window": {"duration": p.window.duration, "quiet": p.window.quiet},
           "firstSeen": p.first_seen, "lastSeen": p.last_seen, "clock": p.clock, "clusters": p.clusters,
           "workloads": [dict(zip(("cluster", "namespace", "kind", "name"), w)) for w in sorted(p.workloads)],
           "containers": [dict(zip(CONTAINER_FIELDS, c)) for c in sorted(p.containers)]}
    for kind, section in SECTIONS.items():
        out[section] = [_entry(p, kind, k) | {"firstSeen": t} for k, t in sorted(base[kind].items())]
    out["deviations"] = [{"kind": d.behaviour.kind} | _entry(p, d.behaviour.kind, d.behaviour.key)
                         | {"firstSeen": d.at} for d in p.deviations()]
    out["accepted"] = [{"kind": b.kind} | _fields(b.kind, b.key) for b in sorted(p.accepted)]
    return out


def from_dict(data: dict) -> Profile:
    """The profile `to_dict` described (derived fields are recomputed, not read)."""
    try:
        w = data["window"]
        p = Profile(data["agent"], LearningWindow(w["duration"], w.get("quiet")),
                    data["firstSeen"], data["lastSeen"], data["clock"])
        if data.get("id", p.id) != p.id:
            raise ValueError(f"id {data['id']} is not the id of {p.agent!r}")
        p.workloads = {(x["cluster"], x["namespace"], x["kind"], x["name"]) for x in data["workloads"]}
        p.containers = {tuple(x[f] for f in CONTAINER_FIELDS) for x in data["containers"]}
        entries = [(kind, e) for kind, section in SECTIONS.items() for e in data.get(section, [])]
        for kind, e in entries + [(e["kind"], e) for e in data["deviations"]]:
            key = _key(kind, e)
            p.items[kind][key] = e["firstSeen"]
            if kind == "open":
                p.open_flags.setdefault(key[0], set()).update(e.get("flags", ()))
            elif kind == "egress":
                p.egress_addresses.setdefault(key[0], set()).update(e.get("addresses", ()))
        p.accepted = {Behaviour(e["kind"], _key(e["kind"], e)) for e in data["accepted"]}
    except (KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"not a weft profile: missing or malformed {e}") from None
    return p


def _fields(kind: str, key: tuple) -> dict:
    return {f: list(v) if isinstance(v, tuple) else v for f, v in zip(KIND_FIELDS[kind], key)}


def _key(kind: str, entry: dict) -> tuple:
    return tuple(tuple(entry[f]) if f == "args" else entry[f] for f in KIND_FIELDS[kind])


def _entry(p: Profile, kind: str, key: tuple) -> dict:
    out = _fields(kind, key)
    if kind == "open":
        out["flags"] = sorted(p.open_flags.get(key[0], ()))
    elif kind == "egress":
        out["addresses"] = sorted(p.egress_addresses.get(key[0], ()))
    return out
