"""How often something was seen and when, kept small and order-free: a count, the first
and last event time, and the earliest few distinct start times as intervals. Whatever
order the same events arrive in, the result is the same; whatever their number, it
stays within MAX_SAMPLES intervals. Pure data."""
from __future__ import annotations

MAX_SAMPLES = 16


def gap(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Seconds between two [start, end] intervals; 0 when they overlap."""
    return max(0, a[0] - b[1], b[0] - a[1])


class Sightings:
    """`add(start, end, count)` per event (an event may stand for `count` identical
    occurrences from `start` to `end`). `samples` are the MAX_SAMPLES smallest distinct
    starts, each with its latest end and its count; what fell past them is `overflow`,
    known only to lie between the last sample and `last`."""

    __slots__ = ("count", "first", "last", "_samples")

    def __init__(self) -> None:
        self.count = 0
        self.first = 0
        self.last = 0
        self._samples: dict[int, list[int]] = {}        # start -> [end, count]

    def add(self, start: int, end: int, count: int = 1) -> None:
        end = max(start, end)
        if self.count == 0 or start < self.first:
            self.first = start
        self.last = max(self.last, end)
        self.count += count
        samples = self._samples
        sample = samples.get(start)
        if sample is not None:
            sample[0], sample[1] = max(sample[0], end), sample[1] + count
        elif len(samples) < MAX_SAMPLES:
            samples[start] = [end, count]
        else:
            latest = max(samples)
            if start < latest:
                del samples[latest]
                samples[start] = [end, count]

    @property
    def samples(self) -> list[tuple[int, int, int]]:
        """(start, end, count), earliest first."""
        return [(s, e, c) for s, (e, c) in sorted(self._samples.items())]

    @property
    def overflow(self) -> int:
        return self.count - sum(c for _, c in self._samples.values())

    def tail(self) -> tuple[int, int]:
        """Where the overflow lies: from the last sample's start to the last time seen."""
        return (max(self._samples, default=self.first), self.last)

    def distance(self, interval: tuple[int, int]) -> int:
        """Seconds from `interval` to the nearest time these sightings cover."""
        near = min((gap(interval, (s, e)) for s, (e, _) in self._samples.items()), default=None)
        if self.overflow:
            far = gap(interval, self.tail())
            near = far if near is None else min(near, far)
        return gap(interval, (self.first, self.last)) if near is None else near
