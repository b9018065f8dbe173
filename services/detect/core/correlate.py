"""Correlation: signals from every source and weft's own detections become attack stories.

    correlator = Correlator(chains)
    correlator.add_events(runtime_events)          # entity facts only: events never start a story
    update = correlator.add_alert(ocsf_finding, event_ids=alert.event_ids)
    update.stories, update.retired                 # what to publish on weft.stories.v1
    Correlator.from_state(json.loads(json.dumps(correlator.to_state())))   # a restart

Each signal is resolved to its correlation key (entities.py: the logical agent at the root
of the calls that led to it); keyed by agent, it joins the signals already there that
are within the join window of it on event time (a gap longer than the window starts a
new story). The key is what stories are partitioned by across replicas (partitions.py):
every replica's correlator sees every signal, event and chain, but builds only the stories
of the keys it owns (`own`), so a story is built in one replica's memory, and the replica
that takes a partition over already holds everything its stories are made of.

Stories are a function of the set of signals, events and chains seen, never of their
order: when the index or the chains learn something, the signals that looked it up are
resolved again and the stories of the keys involved rebuilt. So a signal minutes late,
or ahead of the events that explain it, ends up where it would have been, and a restart
(state saved as JSON, loaded, continued) gives the same stories as no restart.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterable

from weft.detect.core.chain_input import ChainBook, IdentityChain
from weft.detect.core.entities import Resolution, resolve
from weft.detect.core.entity_index import MAX_FACTS, EntityIndex
from weft.detect.core.entity_state import index_from_state, index_to_state
from weft.detect.core.signal_record import Signal
from weft.detect.core.story import Story, story_id
from weft.detect.core.story_build import Member, build_story
from weft.detect.core.triage import Suppression, Triage, propose_suppression, transition

STATE_VERSION = 1


@dataclass(frozen=True)
class CorrelationConfig:
    join_window_ms: int = 30 * 60_000           # signals of one key this close in event time are one story
    retention_ms: int = 24 * 3600_000           # stories and facts older than this (event time) are forgotten
    max_facts: int = MAX_FACTS                  # time-stamped facts kept; the oldest go early past it (not saved)


@dataclass(frozen=True)
class Update:
    stories: tuple[Story, ...] = ()             # created or changed, in id order
    retired: tuple[str, ...] = ()               # ids no longer in use: renamed or merged into another story


class Correlator:
    def __init__(self, chains: Iterable[IdentityChain] = (), config: CorrelationConfig = CorrelationConfig()):
        self.config = config
        self.index = EntityIndex(config.max_facts)
        self.chains = ChainBook(chains)
        self._signals: dict[str, Signal] = {}
        self._resolved: dict[str, Resolution] = {}
        self._by_key: dict[str, set[str]] = {}
        self._signal_deps: dict[str, set[str]] = {}
        self._stories: dict[str, tuple[Story, ...]] = {}
        self._story_deps: dict[str, set[str]] = {}          # token -> keys whose stories read it
        self._deps_of_key: dict[str, set[str]] = {}
        self._story_key: dict[str, str] = {}
        self._triage: dict[str, Triage] = {}
        self._built: dict[str, tuple] = {}                   # story id -> (members, story, deps) as last built
        self._watermark = 0
        self._pruned_at = 0
        self._owns: Callable[[str], bool] = _everything

    # -- input ------------------------------------------------------------------------------

    def add_events(self, events) -> Update:
        touched, latest = self.index.add(events)
        self._watermark = max(self._watermark, latest)
        return self._apply(touched)

    def add_alert(self, finding: dict, event_ids: Iterable[str] = ()) -> Update:
        return self.add_signal(Signal.from_ocsf(finding, tuple(event_ids)))

    def add_signal(self, signal: Signal) -> Update:
        old = self._signals.get(signal.id)
        if old is not None and _version(old) >= _version(signal):
            return Update()                     # a re-delivery, or an older version of what we have
        self._signals[signal.id] = signal
        self._watermark = max(self._watermark, signal.time_ms)
        keys = self._resolve(signal.id) | {self._resolved[signal.id].key}
        update = self._rebuild(keys)
        self._prune()
        return update

    def set_chains(self, chains: Iterable[IdentityChain]) -> Update:
        keys = self.chains.replace(chains)
        return self._apply({f"principal:{k}" for k in keys} | {"chains"})

    def own(self, owns: Callable[[str], bool]) -> Update:
        """Build the stories of the keys `owns` accepts from now on; the stories of keys it
        no longer accepts are dropped here, not retired: another replica tells them now."""
        before = self._owns
        self._owns = owns
        for key in [k for k in self._stories if not owns(k)]:
            for s in self._stories.pop(key):
                self._story_key.pop(s.id, None)
                self._built.pop(s.id, None)
            self._set_story_deps(key, set())
        return self._rebuild({k for k, ids in self._by_key.items() if ids and owns(k) and not before(k)})

    # -- triage -----------------------------------------------------------------------------

    def triage(self, story_id: str, action: str, reason: str = "") -> Story:
        story = self._require(story_id)
        found = transition(self._triage.get(story_id, Triage()), action, reason)
        self._triage[story_id] = found
        updated = replace(story, status=found.status, status_reason=found.reason)
        key = self._story_key[story_id]
        self._stories[key] = tuple(updated if s.id == story_id else s for s in self._stories[key])
        return updated

    def false_positive(self, story_id: str, reason: str) -> tuple[Story, Suppression]:
        story = self.triage(story_id, "false-positive", reason)
        return story, propose_suppression(story, self.members(story_id), reason)

    # -- output -----------------------------------------------------------------------------

    def stories(self) -> list[Story]:
        return sorted((s for found in self._stories.values() for s in found), key=lambda s: (s.first_ms, s.id))

    def story(self, story_id: str) -> Story | None:
        key = self._story_key.get(story_id)
        return next((s for s in self._stories.get(key, ()) if s.id == story_id), None)

    def members(self, story_id: str) -> list[Signal]:
        story = self._require(story_id)
        return [self._signals[i] for i in story.signal_ids]

    def _require(self, story_id: str) -> Story:
        story = self.story(story_id)
        if story is None:
            raise KeyError(f"no story {story_id}")
        return story

    # -- resolving and rebuilding ---------------------------------------------------------------

    def _apply(self, touched: set[str]) -> Update:
        keys: set[str] = set()
        for signal_id in sorted({i for t in touched for i in self._signal_deps.get(t, ())}):
            keys |= self._resolve(signal_id)
        stale = {k for t in touched for k in self._story_deps.get(t, ())}
        update = self._rebuild(keys | stale, fresh=stale)
        self._prune()
        return update

    def _resolve(self, signal_id: str) -> set[str]:
        """Resolve one signal again; the keys whose stories may have changed."""
        found = resolve(self._signals[signal_id], self.index, self.chains)
        old = self._resolved.get(signal_id)
        if old is not None:
            for token in old.deps:
                self._signal_deps.get(token, set()).discard(signal_id)
            self._by_key.get(old.key, set()).discard(signal_id)
        for token in found.deps:
            self._signal_deps.setdefault(token, set()).add(signal_id)
        self._by_key.setdefault(found.key, set()).add(signal_id)
        self._resolved[signal_id] = found
        if old == found:
            return set()
        return {found.key} | ({old.key} if old else set())

    def _rebuild(self, keys: set[str], fresh: set[str] = frozenset()) -> Update:
        """Rebuild the stories of `keys`. A story whose members and their resolutions are
        unchanged is kept as built, unless its key is in `fresh` (something it read changed)."""
        keys = {k for k in keys if self._owns(k)}
        before = {s.id: s for k in keys for s in self._stories.get(k, ())}
        after: dict[str, Story] = {}
        for key in sorted(keys):
            for old in self._stories.get(key, ()):
                self._story_key.pop(old.id, None)
            stories, deps = self._build_key(key, before, key not in fresh)
            self._set_story_deps(key, deps)
            if stories:
                self._stories[key] = stories
            else:
                self._stories.pop(key, None)
            for s in stories:
                self._story_key[s.id] = key
                after[s.id] = s
        retired = sorted(set(before) - set(after))
        for gone in retired:
            self._triage.pop(gone, None)
            self._built.pop(gone, None)
        changed = tuple(s for i, s in sorted(after.items()) if before.get(i) != s)
        return Update(changed, tuple(retired))

    def _build_key(self, key: str, before: dict[str, Story], reuse: bool) -> tuple[tuple[Story, ...], set[str]]:
        stories, deps = [], set()
        for group in self._groups(key):
            members = [Member(s, self._resolved[s.id]) for s in group]
            made = self._built.get(story_id(key, group[0].id))
            if reuse and made is not None and made[0] == members:
                story, found = made[1], made[2]
            else:
                story, found = build_story(key, members, self.index, self.chains)
                self._built[story.id] = (members, story, found)
            triage = self._triage.get(story.id) or self._inherited(story, before)
            if triage is not None:
                self._triage[story.id] = triage
                story = replace(story, status=triage.status, status_reason=triage.reason)
            stories.append(story)
            deps |= found
        return tuple(stories), deps

    def _groups(self, key: str) -> list[list[Signal]]:
        """The key's signals in event-time order, split where a gap exceeds the join window."""
        ordered = sorted((self._signals[i] for i in self._by_key.get(key, ())), key=lambda s: (s.time_ms, s.id))
        groups: list[list[Signal]] = []
        for s in ordered:
            if groups and s.time_ms - groups[-1][-1].time_ms <= self.config.join_window_ms:
                groups[-1].append(s)
            else:
                groups.append([s])
        return groups

    def _inherited(self, story: Story, before: dict[str, Story]) -> Triage | None:
        """A renamed or merged story keeps the triage of the story it shares most signals with."""
        mine = set(story.signal_ids)
        shared = [(-len(mine & set(old.signal_ids)), old.id) for old in before.values()
                  if old.id in self._triage and mine & set(old.signal_ids)]
        return self._triage[min(shared)[1]] if shared else None

    def _set_story_deps(self, key: str, deps: set[str]) -> None:
        for token in self._deps_of_key.pop(key, set()) - deps:
            self._story_deps[token].discard(key)
            if not self._story_deps[token]:
                del self._story_deps[token]
        for token in deps:
            self._story_deps.setdefault(token, set()).add(key)
        if deps:
            self._deps_of_key[key] = set(deps)

    # -- forgetting -----------------------------------------------------------------------------

    def _prune(self) -> None:
        """Stories whose last signal is older than the retention (on event time) are dropped,
        whole, with their signals; the index forgets its facts of that age. Not reported as
        retired: they expired, the shell has them."""
        step = max(self.config.retention_ms // 24, 1)          # prune at most once per step of event time
        boundary = self._watermark // step * step
        if boundary <= self._pruned_at:
            return
        self._pruned_at = boundary
        cutoff = boundary - self.config.retention_ms
        # By the key's signal groups, not its built stories: keys another replica owns
        # forget the same signals at the same event time as their owner does.
        for key in list(self._by_key):
            old = [g for g in self._groups(key) if g[-1].time_ms < cutoff]
            for group in old:
                gone = story_id(key, group[0].id)
                for signal in group:
                    self._forget(signal.id)
                self._story_key.pop(gone, None)
                self._triage.pop(gone, None)
                self._built.pop(gone, None)
            if old and key in self._stories:
                kept = tuple(s for s in self._stories[key] if s.last_ms >= cutoff)
                if kept:
                    self._stories[key] = kept
                else:
                    del self._stories[key]
                    self._set_story_deps(key, set())
            if not self._by_key.get(key):
                self._by_key.pop(key, None)
        self.index.prune(cutoff)

    def _forget(self, signal_id: str) -> None:
        res = self._resolved.pop(signal_id)
        for token in res.deps:
            self._signal_deps.get(token, set()).discard(signal_id)
        self._by_key.get(res.key, set()).discard(signal_id)
        del self._signals[signal_id]

    # -- state ------------------------------------------------------------------------------------

    def to_state(self) -> dict:
        return {"version": STATE_VERSION,
                "config": {"joinWindowMs": self.config.join_window_ms, "retentionMs": self.config.retention_ms},
                "watermark": self._watermark, "prunedAt": self._pruned_at,
                "index": index_to_state(self.index), "chains": self.chains.to_state(),
                "signals": [self._signals[i].to_dict() for i in sorted(self._signals)],
                "triage": {i: {"status": t.status, "reason": t.reason} for i, t in sorted(self._triage.items())}}

    @classmethod
    def from_state(cls, state: dict, max_facts: int = MAX_FACTS) -> Correlator:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"correlation state version {state.get('version')!r}; expected {STATE_VERSION}")
        c = state["config"]
        self = cls(ChainBook.chains_from_state(state["chains"]),
                   CorrelationConfig(c["joinWindowMs"], c["retentionMs"], max_facts))
        self.index = index_from_state(state["index"], max_facts)
        self._watermark, self._pruned_at = state["watermark"], state["prunedAt"]
        self._triage = {i: Triage(t["status"], t["reason"]) for i, t in state["triage"].items()}
        for data in state["signals"]:
            signal = Signal.from_dict(data)
            self._signals[signal.id] = signal
        keys: set[str] = set()
        for signal_id in sorted(self._signals):
            keys |= self._resolve(signal_id)
        self._rebuild(keys)
        return self


def _everything(_key: str) -> bool:
    return True


def _version(s: Signal) -> tuple:
    return s.modified_ms, repr(s.to_dict())
