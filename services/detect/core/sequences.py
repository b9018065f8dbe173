"""Sequence windows: "B within N seconds after A, by the same process, pod or agent", on
event time, tolerant of input out of order.

Per rule and key, the store keeps recent triggers (A) and the candidates (B) no trigger
has paired yet. A candidate pairs with the latest trigger at or before it within the
window; a trigger arriving late pairs with every waiting candidate inside its window.
Entries older than the watermark (the latest event time seen here) minus the window and
the allowed lateness are never paired and are evicted, so the state is bounded by event
time, not by the wall clock, and eviction never changes a result: the same events in
the same order give the same pairs however they are batched.
"""
from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from typing import Hashable

NS = 1_000_000_000
MAX_PER_KEY = 64               # entries kept per rule and key; the oldest go first
# an entry is a plain tuple (cheapest to make and to sort): (event time in ns, arrival
# order, so that entries never compare their events, the event, the caller's payload)
Entry = tuple[int, int, object, object]
T, SEQ, EVENT, PAYLOAD = range(4)


def nanos(ev) -> int:
    """A runtime event's time in ns since the epoch: the time every window here is on."""
    ts = ev.time
    return ts.seconds * NS + ts.nanos


class Windows:
    def __init__(self, lateness: int = 60):
        self.lateness = lateness * NS
        self.watermark = 0
        self._triggers: dict[tuple[int, Hashable], list[Entry]] = {}
        self._waiting: dict[tuple[int, Hashable], list[Entry]] = {}
        self._horizon: dict[int, int] = {}                   # rule -> window + lateness, ns
        self._expiry: deque[tuple[int, dict, tuple]] = deque()   # (when to look again, store, key)
        self._seq = 0

    def trigger(self, rule: int, within: int, key: Hashable, t: int, event) -> list[Entry]:
        """Record a trigger; returns the waiting candidates it pairs with (now taken)."""
        self._saw(rule, within, t)
        self._add(self._triggers, (rule, key), t, event, None)
        waiting = self._waiting.get((rule, key))
        if not waiting:
            return []
        end, floor = t + within * NS, self.watermark - self._horizon[rule]
        paired = [c for c in waiting if t <= c[T] <= end and c[T] >= floor and c[EVENT] is not event]
        if paired:
            waiting[:] = [c for c in waiting if c not in paired]
        return paired

    def candidate(self, rule: int, within: int, key: Hashable, t: int, event, payload=None) -> Entry | None:
        """The trigger a candidate pairs with; None (and the candidate waits) if none yet."""
        self._saw(rule, within, t)
        start = max(t - within * NS, self.watermark - self._horizon[rule])
        for trigger in reversed(self._triggers.get((rule, key), ())):
            if trigger[T] <= t and trigger[EVENT] is not event:
                if trigger[T] >= start:
                    return trigger
                break
        self._add(self._waiting, (rule, key), t, event, payload)
        return None

    def __len__(self) -> int:
        return sum(map(len, self._triggers.values())) + sum(map(len, self._waiting.values()))

    def _saw(self, rule: int, within: int, t: int) -> None:
        self._horizon[rule] = within * NS + self.lateness
        if t > self.watermark:
            self.watermark = t
            self._evict()

    def _add(self, store: dict, key: tuple, t: int, event, payload) -> None:
        if t < self.watermark - self._horizon[key[0]]:
            return                                   # already past pairing: never kept
        self._seq += 1
        entries = store.get(key)
        if entries is None:
            entries = store[key] = []
        entry = (t, self._seq, event, payload)
        if not entries or t >= entries[-1][T]:
            entries.append(entry)
        else:
            insort(entries, entry)
        if len(entries) > MAX_PER_KEY:
            del entries[0]
        self._expiry.append((t + self._horizon[key[0]], store, key))

    def _evict(self) -> None:
        """Drop what the watermark has left behind; each entry is looked at about once."""
        expiry, wm = self._expiry, self.watermark
        while expiry and expiry[0][0] < wm:
            _, store, key = expiry.popleft()
            entries = store.get(key)
            if entries:
                floor = wm - self._horizon[key[0]]
                if entries[0][T] < floor:   # sorted by time: cut the head
                    del entries[:bisect_left(entries, (floor,))]
                if not entries:
                    del store[key]
