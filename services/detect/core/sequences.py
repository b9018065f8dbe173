"""Sequence windows: "B within N seconds after A, by the same process, pod or agent", on
event time, tolerant of input out of order.

Per rule and key, the store keeps recent triggers (A) and the candidates (B) no trigger
has paired yet. A candidate pairs with the latest trigger at or before it within the
window; a trigger arriving late pairs with every waiting candidate inside its window.
Entries older than the watermark (the latest event time seen here) minus the window and
the allowed lateness are never paired and are evicted, so the state is bounded by event
time, not by the wall clock; results do not depend on how the input is batched.
"""
from __future__ import annotations

from bisect import insort
from dataclasses import dataclass, field
from typing import Hashable

NS = 1_000_000_000
MAX_PER_KEY = 64               # entries kept per rule and key; the oldest go first
SWEEP_EVERY = 10 * NS          # event time between evictions


@dataclass(order=True)
class Entry:
    t: int                                         # event time, nanoseconds
    seq: int                                       # arrival order: ties stay deterministic
    event: object = field(compare=False)
    payload: object = field(compare=False, default=None)


class Windows:
    def __init__(self, lateness: int = 60):
        self.lateness = lateness * NS
        self.watermark = 0
        self._triggers: dict[tuple[int, Hashable], list[Entry]] = {}
        self._waiting: dict[tuple[int, Hashable], list[Entry]] = {}
        self._within: dict[int, int] = {}
        self._seq = 0
        self._swept = 0

    def trigger(self, rule: int, within: int, key: Hashable, t: int, event) -> list[Entry]:
        """Record a trigger; returns the waiting candidates it pairs with (now taken)."""
        self._saw(rule, within, t)
        self._add(self._triggers, (rule, key), t, event, None)
        waiting = self._waiting.get((rule, key))
        if not waiting:
            return []
        end, floor = t + within * NS, self._floor(rule)
        paired = [c for c in waiting if t <= c.t <= end and c.t >= floor and c.event is not event]
        if paired:
            waiting[:] = [c for c in waiting if not any(c is p for p in paired)]
        return paired

    def candidate(self, rule: int, within: int, key: Hashable, t: int, event, payload=None) -> Entry | None:
        """The trigger a candidate pairs with; None (and the candidate waits) if none yet."""
        self._saw(rule, within, t)
        start = max(t - within * NS, self._floor(rule))
        for trigger in reversed(self._triggers.get((rule, key), ())):
            if trigger.t <= t and trigger.event is not event:
                if trigger.t >= start:
                    return trigger
                break
        self._add(self._waiting, (rule, key), t, event, payload)
        return None

    def __len__(self) -> int:
        return sum(map(len, self._triggers.values())) + sum(map(len, self._waiting.values()))

    def _saw(self, rule: int, within: int, t: int) -> None:
        self._within[rule] = within * NS
        if t > self.watermark:
            self.watermark = t
            if t - self._swept >= SWEEP_EVERY:
                self._sweep()

    def _floor(self, rule: int) -> int:
        return self.watermark - self._within[rule] - self.lateness

    def _add(self, store: dict, key: tuple, t: int, event, payload) -> None:
        self._seq += 1
        entries = store.setdefault(key, [])
        insort(entries, Entry(t, self._seq, event, payload))
        if len(entries) > MAX_PER_KEY:
            del entries[0]

    def _sweep(self) -> None:
        self._swept = self.watermark
        for store in (self._triggers, self._waiting):
            for key in list(store):
                floor = self._floor(key[0])
                kept = [e for e in store[key] if e.t >= floor]
                if kept:
                    store[key] = kept
                else:
                    del store[key]
