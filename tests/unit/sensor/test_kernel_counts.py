"""Draining the kernel's aggregation maps without a kernel: announced keys are looked up
one by one, whole maps are read only when something may have been missed."""

from __future__ import annotations

import ctypes

from weft.sensor.aggregates import AGG, AGG_SEEN, EV_AGG_SEEN, KernelCounts
from weft.v1 import event_pb2

NOW = 100_000_000_000
KEY_SIZE = 48


class Table:
    Key = ctypes.c_char * KEY_SIZE
    Leaf = ctypes.c_char * AGG.size
    max_entries = 8
    map_fd = -1


class Owner:
    """A probe's record_of: the first occurrence's record, rebuilt from key and value."""

    def record_of(self, _map, key, value):
        return b"record:" + key.rstrip(b"\0") + b":" + value[:8]


class Map(KernelCounts):
    """KernelCounts over a dict: key -> (count, first_ts, last_ts)."""

    def __init__(self, entries: dict[bytes, tuple[int, int, int]]):
        super().__init__(Table, "net_agg", Owner())
        self.entries, self.reads, self.lookups = entries, 0, []

    def _lookup_one(self, key):
        self.lookups.append(key)
        found = self.entries.get(key)
        return AGG.pack(*found, 0, 1) if found else None

    def _read(self):
        self.reads += 1
        for i, (key, value) in enumerate(self.entries.items()):
            ctypes.memmove(ctypes.addressof(self._keys) + i * KEY_SIZE, key, KEY_SIZE)
            ctypes.memmove(ctypes.addressof(self._vals) + i * AGG.size, AGG.pack(*value, 0, 1), AGG.size)
        return len(self.entries)


def key(name: str) -> bytes:
    return name.encode().ljust(KEY_SIZE, b"\0")


def announcement(k: bytes) -> bytes:
    return AGG_SEEN.pack(EV_AGG_SEEN, 0, k)


def seen(m: Map, k: bytes, first_ts: int, settle: bool = True) -> event_pb2.RuntimeEvent:
    ev = event_pb2.RuntimeEvent(event_id=k.rstrip(b"\0").decode(), count=1)
    m.first(k, first_ts, ev)
    if settle:
        m.settle()
    return ev


def test_an_announced_repeat_is_looked_up_alone_and_reported_from_its_rebuilt_record():
    a, b = key("a"), key("b")
    m = Map({a: (5, 10, NOW - 5), b: (3, 20, NOW - 5)})
    seen(m, a, 10)
    seen(m, b, 20)
    m.announced(announcement(a))
    [d] = list(m.drain(NOW))
    assert (d.event, d.record, d.count, d.last_ts, d.fresh) == (
        None, b"record:a:" + (5).to_bytes(8, "little"), 4, NOW - 5, False)
    assert m.lookups == [a] and m.reads == 0      # b was not announced: not read


def test_a_repeat_in_the_poll_of_its_first_occurrence_folds_into_that_event():
    a = key("a")
    m = Map({a: (3, 10, NOW)})
    first = seen(m, a, 10, settle=False)
    m.announced(announcement(a))
    [d] = list(m.drain(NOW))
    assert d.event is first and d.record is None and d.count == 2


def test_a_key_is_read_again_at_the_next_drain_then_no_more():
    a = key("a")
    m = Map({a: (2, 10, NOW)})
    seen(m, a, 10)
    m.announced(announcement(a))
    assert [d.count for d in m.drain(NOW)] == [1]
    m.entries[a] = (4, 10, NOW + 1)   # counted again, after the generation's announcement
    assert [d.count for d in m.drain(NOW + 1)] == [2]
    assert list(m.drain(NOW + 2)) == [] and m.lookups == [a, a]


def test_an_idle_map_costs_no_read_at_all():
    m = Map({key(str(i)): (1, i, i) for i in range(8)})
    assert list(m.drain(NOW)) == [] and m.lookups == [] and m.reads == 0


def test_a_whole_read_rebuilds_a_lost_first_record_and_leaves_the_rest():
    kept, lost, young = key("kept"), key("lost"), key("young")
    m = Map({kept: (1, NOW - 10**9, NOW - 10**9), lost: (3, NOW - 10**9, NOW - 1),
             young: (1, NOW - 1000, NOW - 1000)})
    seen(m, kept, NOW - 10**9)
    [d] = list(m.drain(NOW, whole=True))
    assert (d.record, d.count, d.last_ts, d.fresh) == (
        b"record:lost:" + (3).to_bytes(8, "little"), 3, NOW - 1, True)
    m.entries[lost] = (5, NOW - 10**9, NOW)        # then counted as any other key
    m.announced(announcement(lost))
    assert [d.count for d in m.drain(NOW + 1)] == [2]


def test_a_key_evicted_and_counted_anew_waits_for_its_new_first_record():
    a = key("a")
    m = Map({a: (2, NOW - 100, NOW)})   # re-inserted since: a first_ts this side never saw
    seen(m, a, 10)
    m.announced(announcement(a))
    assert list(m.drain(NOW)) == []     # its record is still on its way
    seen(m, a, NOW - 100)
    m.announced(announcement(a))
    assert [d.count for d in m.drain(NOW + 1)] == [1]


def test_keys_the_lru_evicted_are_forgotten():
    m = Map({key("live"): (1, 1, 1)})
    for i in range(2 * Table.max_entries):
        seen(m, key(f"gone{i}"), i)
    seen(m, key("live"), 1)
    list(m.drain(NOW))
    assert list(m._seen) == [key("live")] and m.reads == 1
