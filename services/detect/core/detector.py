"""Runtime events in, alerts out: every enabled rule against each event, baseline rules
against the agent's ready profile. Pure logic, event time only.

    rules = RuleSet.load([user_dir])
    detector = Detector(rules, profiles_by_agent)      # {logical agent name: Profile}
    for alert in detector.observe(events): alert.to_ocsf()

Hot path: rules are compiled once into one plan per event kind. An event's plan reads
the few fields its rules and its behaviour key need (one C-level attrgetter) and looks
the values up in the plan's cache, which holds the behaviour key, the signature rules
that match and the sequence triggers it is; so a repeated value costs one dict lookup,
then one set lookup in the agent's baseline. Rules reading per-container fields (agent,
namespace, labels …) or per-event ones (pid, excerpts) are evaluated per event instead;
exceptions and a baseline rule's narrowing match only when a rule is about to fire.

Profiles reach detect after the events that made them ready. So an event of an agent
whose profile is still learning, that a baseline rule would judge, is kept (bounded:
UNJUDGED_PER_AGENT per agent, UNJUDGED_AGENTS agents); when the ready profile arrives,
`update_profiles` judges the kept events after its ready time and returns their alerts,
as `weft analyze` — which knows every profile from the start — would have raised them.

Every alert goes through `folding` (folding.py): a repeat of the same rule, agent and
detail in one window of event time is counted into the key's next alert, and past the cap
of alerts per rule, agent and window the rest are held back and summed in one summary
alert, so a storm of deviations makes a few alerts, not one per event.

The detector keeps references to events (in alerts, sequence windows, held-back alerts and
the unjudged): do not change an event after passing it in. Sequence and folding state are
bounded by event time (sequences.py, folding.py); caches and per-container contexts by size.
"""
from __future__ import annotations

import operator
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Hashable, Iterable, Mapping

from weft.detect.core import matching
from weft.detect.core.alerts import Alert, summary
from weft.detect.core.baseline import PATHS, Baseline, BehaviourIds, behaviour, describe, dimensions
from weft.detect.core.folding import Folding, Limits
from weft.detect.core.matching import E, Predicate, compile_match, prune
from weft.detect.core.rulefile import Rule
from weft.detect.core.sequences import EVENT, NS, PAYLOAD, Windows, nanos
from weft.discovery.core.agents import WorkloadRef, logical_name, names_itself
from weft.discovery.core.profiles import Profile

MAX_CACHED = 1 << 16            # cached values per event kind; past it the cache starts again
MAX_CONTEXTS = 1 << 18          # containers remembered; past it they are looked up again
UNJUDGED_PER_AGENT = 1024       # events kept per learning agent for its ready profile to judge
UNJUDGED_AGENTS = 128           # learning agents kept at once; past it the oldest is dropped


@dataclass(eq=False, slots=True)
class Compiled:
    """One rule compiled for one event kind (as the rule itself, or as its `after` trigger)."""
    index: int
    rule: Rule
    tree: dict | bool                  # the condition pruned for this kind (matching.prune)
    exceptions: tuple[Predicate | bool, ...] = ()
    match: Predicate | bool = field(init=False)

    def __post_init__(self):
        self.match = self.tree if isinstance(self.tree, bool) else matching.compile_tree(self.tree)

    def matches(self, ev: E, agent: str) -> bool:
        return self.match is True or self.match(ev, agent)

    def excepted(self, ev: E, agent: str) -> bool:
        return any(x is True or (x is not False and x(ev, agent)) for x in self.exceptions)


@dataclass(eq=False, slots=True)
class Plan:
    """Everything the rules do with events of one kind."""
    kind: int
    by_dimension: dict[str, list[Compiled]] = field(default_factory=dict)
    signatures: list[Compiled] = field(default_factory=list)          # cacheable matches
    triggers: list[Compiled] = field(default_factory=list)
    per_event: list[Compiled] = field(default_factory=list)           # read context or volatile fields
    per_event_triggers: list[Compiled] = field(default_factory=list)
    key: Callable[[E], Hashable] = lambda ev: None
    cache: dict = field(default_factory=dict)
    always: bool = False                   # per-event rules: every event needs its context
    baseline_triggers: bool = False        # some baseline rule waits for events of this kind (`after`)

    def entry(self, raw: Hashable, ev: E, ids: BehaviourIds) -> tuple:
        """For a new value: (whether the event needs its container's context, behaviour
        check, its id, host named, matching signatures, triggers)."""
        check, host = behaviour(self.kind, ev) if self.by_dimension else (None, None)
        signatures = tuple(c for c in self.signatures if c.match is True or c.match(ev, ""))
        triggers = tuple(c for c in self.triggers if c.match is True or c.match(ev, ""))
        busy = check is not None or bool(signatures or triggers) or self.always
        found = (busy, check, ids.get(check) if check else -1, host, signatures, triggers)
        if len(self.cache) >= MAX_CACHED:
            self.cache.clear()
        self.cache[raw] = found
        return found


class Context:
    """One container: its logical agent, its baseline when the profile is ready (`known`:
    the baseline's behaviour ids, None without one), its sequence keys."""
    __slots__ = ("agent", "ref", "baseline", "known", "pod", "container", "_serving")

    def __init__(self, agent: str, ref: WorkloadRef, baseline: Baseline | None, pod: tuple, container: Hashable):
        self.agent, self.ref, self.pod, self.container = agent, ref, pod, container
        self.baseline = baseline if baseline is not None and baseline.ready else None
        self.known = self.baseline.known if self.baseline is not None else None
        self._serving: dict[str, bool] = {}

    def serves(self, host: str) -> bool:
        """Whether the workload is the model host or MCP server an event names."""
        found = self._serving.get(host)
        if found is None:
            found = self._serving[host] = names_itself(self.ref, host)
        return found


class Detector:
    def __init__(self, rules: Iterable[Rule], profiles_by_agent: Mapping[str, Profile] | None = None, *,
                 lateness: int = 60, limits: Limits = Limits()):
        self.rules = tuple(r for r in rules if r.enabled)
        self.plans = plans(self.rules)            # event kind -> Plan: the compiled dispatch table
        self._ids = BehaviourIds()
        self._baselines: dict[str, Baseline] = {}
        self._contexts: dict[str, Context] = {}
        self._by_identity: dict[tuple, Context] = {}
        self._lateness = lateness
        self._windows = Windows(lateness)
        self._unjudged: dict[str, deque] = {}   # learning agent -> (event, plan, check), oldest first
        self.folding = Folding(limits, lateness)   # one for live and late judging: one timeline of alerts
        self.update_profiles(profiles_by_agent or {})

    def update_profiles(self, profiles_by_agent: Mapping[str, Profile]) -> list[Alert]:
        """New or changed profiles (published, merged, accepted): their baselines from now
        on. Returns the alerts of kept events that a profile now ready judges."""
        for name, profile in profiles_by_agent.items():
            self._baselines[name] = Baseline.of(profile, self._ids)
        self._contexts.clear()
        self._by_identity.clear()
        for plan in self.plans.values():      # a behaviour no profile knew may be known now
            plan.cache.clear()
        out: list[Alert] = []
        for name in [n for n in self._unjudged if (b := self._baselines.get(n)) is not None and b.ready]:
            self._judge_late(self._unjudged.pop(name), self._baselines[name].ready_at * NS, out)
        return out

    def _judge_late(self, kept: deque, ready_ns: int, out: list[Alert]) -> None:
        """The baseline rules over kept events, on a timeline of their own: their sequence
        windows (a deviation within N s of a tool call) pair kept events with each other."""
        live, self._windows = self._windows, Windows(self._lateness)
        try:
            for ev, plan, check in kept:
                if nanos(ev) <= ready_ns:
                    continue   # seen while learning: part of the baseline by definition
                ctx = self._contexts.get(ev.workload.container_id) or self._context(ev)
                raw = plan.key(ev)
                _busy, _check, kid, host, _signatures, triggers = plan.cache.get(raw) or plan.entry(raw, ev, self._ids)
                if check is not None and ctx.known is not None and kid not in ctx.known and \
                        (host is None or not ctx.serves(host)):
                    self._deviation(ev, ctx, plan, check, out)
                triggers = [c for c in (*triggers, *plan.per_event_triggers)
                            if c.rule.kind == "baseline" and c.matches(ev, ctx.agent)]
                if triggers:   # signature sequences already fired live: only the baseline ones wait for this
                    self._trigger(ev, ctx, tuple(triggers), out)
        finally:
            self._windows = live

    def _keep_unjudged(self, ev: E, ctx: Context, plan: Plan, check: tuple) -> None:
        kept = self._unjudged.get(ctx.agent)
        if kept is None:
            if len(self._unjudged) >= UNJUDGED_AGENTS:
                del self._unjudged[next(iter(self._unjudged))]
            kept = self._unjudged[ctx.agent] = deque(maxlen=UNJUDGED_PER_AGENT)
        kept.append((ev, plan, check))

    @property
    def sequence_entries(self) -> int:
        """Triggers and waiting candidates held for sequence rules (bounded by event time)."""
        return len(self._windows)

    def observe(self, events: Iterable[E]) -> list[Alert]:
        out: list[Alert] = []
        plans, contexts, ids = self.plans, self._contexts, self._ids
        for ev in events:
            plan = plans.get(ev.kind)
            if plan is None:
                continue
            raw = plan.key(ev)
            busy, check, kid, host, signatures, triggers = plan.cache.get(raw) or plan.entry(raw, ev, ids)
            if not busy:
                continue
            ctx = contexts.get(ev.workload.container_id) or self._context(ev)
            known = ctx.known
            if known is None:
                if ctx.agent and (check is not None or plan.baseline_triggers):
                    self._keep_unjudged(ev, ctx, plan, check)
            elif check is not None and kid not in known and (host is None or not ctx.serves(host)):
                self._deviation(ev, ctx, plan, check, out)
            for c in signatures:
                self._raise(c, ev, ctx, None, out)
            if plan.always:
                agent = ctx.agent
                for c in plan.per_event:
                    if c.matches(ev, agent):
                        self._raise(c, ev, ctx, None, out)
                triggers = triggers + tuple(c for c in plan.per_event_triggers if c.matches(ev, agent))
            if triggers:
                self._trigger(ev, ctx, triggers, out)
        return out

    def _deviation(self, ev: E, ctx: Context, plan: Plan, check: tuple, out: list[Alert]) -> None:
        for dimension in dimensions(check, ctx.baseline):
            for c in plan.by_dimension.get(dimension, ()):
                if c.matches(ev, ctx.agent):
                    self._raise(c, ev, ctx, describe(check), out)

    def _raise(self, c: Compiled, ev: E, ctx: Context, detail: str | None, out: list[Alert]) -> None:
        """A rule's condition holds for ev: alert, unless excepted or still waiting for its `after`."""
        if c.excepted(ev, ctx.agent):
            return
        detail = detail or summary(ev)
        after = c.rule.after
        if after is None:
            self.folding.admit(c.rule, ctx.agent, detail, [ev], out)
            return
        trigger = self._windows.candidate(c.index, after.within, self._key(after.by, ev, ctx), nanos(ev), ev,
                                          (ctx.agent, detail))
        if trigger is not None:
            self.folding.admit(c.rule, ctx.agent, detail, [trigger[EVENT], ev], out)

    def _trigger(self, ev: E, ctx: Context, triggers: tuple[Compiled, ...], out: list[Alert]) -> None:
        t = nanos(ev)
        for c in triggers:
            after = c.rule.after
            for waiting in self._windows.trigger(c.index, after.within, self._key(after.by, ev, ctx), t, ev):
                agent, detail = waiting[PAYLOAD]
                self.folding.admit(c.rule, agent, detail, [ev, waiting[EVENT]], out)

    @staticmethod
    def _key(by: str, ev: E, ctx: Context) -> Hashable:
        if by == "process":
            return ctx.container, ev.process.pid
        if by == "pod":
            return ctx.pod
        return ctx.agent or ctx.container

    def _context(self, ev: E) -> Context:
        w, node = ev.workload, ev.node
        cid = w.container_id
        identity = (node.cluster, w.namespace, w.pod, w.name, w.container)
        if not cid and (found := self._by_identity.get(identity)) is not None:
            return found
        agent = logical_name(w.namespace, w.name, w.labels) if w.name else ""
        base = self._baselines.get(agent) if agent else None
        ctx = Context(agent, WorkloadRef(node.cluster, w.namespace, w.name), base,
                      (node.cluster, w.namespace, w.pod or w.name), cid or identity)
        store = self._contexts if cid else self._by_identity
        if len(store) >= MAX_CONTEXTS:
            store.clear()
        store[cid or identity] = ctx
        return ctx


def plans(rules: tuple[Rule, ...]) -> dict[int, Plan]:
    """One plan per event kind any rule reads."""
    found: dict[int, Plan] = {}
    for i, rule in enumerate(rules):
        for kind in sorted(rule.events):
            c = Compiled(i, rule, prune(rule.match, kind) if rule.match else True,
                         tuple(compile_match(x.match, kind) for x in rule.exceptions))
            if c.tree is False:
                continue
            plan = found.setdefault(kind, Plan(kind))
            if rule.kind == "baseline":
                plan.by_dimension.setdefault(rule.dimension, []).append(c)
            else:
                (plan.signatures if _cacheable(c.tree) else plan.per_event).append(c)
        for kind in sorted(rule.after.events if rule.after else ()):
            c = Compiled(i, rule, prune(rule.after.match, kind) if rule.after.match else True)
            if c.tree is not False:
                plan = found.setdefault(kind, Plan(kind))
                (plan.triggers if _cacheable(c.tree) else plan.per_event_triggers).append(c)
    for plan in found.values():
        plan.key = _key_reader(plan)
        plan.always = bool(plan.per_event or plan.per_event_triggers)
        plan.baseline_triggers = any(c.rule.kind == "baseline" for c in plan.triggers + plan.per_event_triggers)
    return found


def _cacheable(tree: dict | bool) -> bool:
    return all(not (f.context or f.volatile) for f in matching.fields_of(tree))


def _key_reader(plan: Plan) -> Callable[[E], Hashable]:
    """Reads the event fields a plan's cached answer depends on, as one hashable value."""
    paths = set(PATHS.get(plan.kind, ())) if plan.by_dimension else set()
    for c in plan.signatures + plan.triggers:
        paths.update(p for f in matching.fields_of(c.tree) for p in f.paths)
    ordered = sorted(paths)
    if not ordered:
        return lambda ev: None
    get = operator.attrgetter(*ordered)
    repeated = [i for i, p in enumerate(ordered) if p in matching.REPEATED]
    if not repeated:
        return get
    if len(ordered) == 1:
        return lambda ev: tuple(get(ev))

    def read(ev: E) -> tuple:
        values = list(get(ev))
        for i in repeated:
            values[i] = tuple(values[i])
        return tuple(values)
    return read
