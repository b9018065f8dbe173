"""User space's side of the kernel's aggregation maps (net_agg, file_agg).

A key's first occurrence arrives as a full ring buffer record; the kernel then only
counts repeats in the map (struct agg at the start of each value), and a drain
reports each increase as an event of the key whose count is the delta, so the
counts of all events for a key sum exactly to the kernel's count. That event is
the first one again (the owning probe rebuilds its record from the key and the
value, which keeps what the record said): nothing is kept here per key but its
first occurrence's time and the count reported so far.

A drain does not read whole maps (8192 entries each, mostly idle: reading one with
BPF_MAP_LOOKUP_BATCH costs milliseconds). The kernel announces a key the first time
it is counted again in each drain generation (an EV_AGG_SEEN record, see
bpf/common.c); a drain bumps the generation, then reads only the keys announced in
the last two generations (two: a repeat that read the generation just before the
bump is still read). A whole map is read only after a loss (the ring buffer was
full, so a first record or an announcement may be missing) and, now and then, to
forget the keys the LRU evicted.

How late a count is. A repeat counted in the map reaches user space at the next
drain (DRAIN_INTERVAL_NS). File opens can wait in the kernel before that: a thread
counts its first repeat of a key in a tick in the map at once (so last_seen is exact
to the tick) and holds its further repeats in that tick (bpf/file.c); while it keeps
opening, they reach the map at most a tick (1-10 ms) late; a thread that stops
opening keeps its last tick's further repeats (never a first occurrence, nor the
tick's first repeat) until it opens anything again, execs or exits, however long
that takes. No drain can reach them: the thread bumps its count without a lock, and no
program runs in its context meanwhile. Nothing is lost, and a key's counts still
sum exactly to its opens once the thread has moved on.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from itertools import compress, repeat
from operator import ge
from typing import Any, Iterator, NamedTuple

from weft.v1 import event_pb2

from .probes import Probe

EV_AGG_SEEN = 10                       # as in bpf/common.c
AGG_MAPS = {"net_agg": 0, "file_agg": 1}  # map ids in announcements (AGG_NET, AGG_FILE)
AGG_SEEN = struct.Struct("<II48s")     # type, map id, key (zero-padded)
AGG = struct.Struct("<QQQQI4x")        # count, first_ts, last_ts, tick, generation

# (key, count, first_ts, last_ts, value bytes)
Entry = tuple[bytes, int, int, int, bytes]


class Drained(NamedTuple):
    """One count to report: `event` is this poll's first occurrence of the key (the
    count folds into it), else `record` is the first occurrence's record rebuilt;
    fresh: that record was lost, and count is the key's whole count."""
    event: event_pb2.RuntimeEvent | None
    record: bytes | None
    count: int
    last_ts: int
    fresh: bool


class KernelCounts:
    LOST_GRACE_NS = 500_000_000  # a first record not seen by then was lost
    IDLE_NS = 2_000_000_000      # whole-map reads skip entries untouched since the previous drain minus this

    def __init__(self, table: Any, name: str, owner: Probe):
        """table: bcc's, or anything with its Key and Leaf types, max_entries and map_fd."""
        self.name, self.map_id, self._table, self.owner = name, AGG_MAPS[name], table, owner
        self._fd = table.map_fd
        self._ksize, self._vsize = ctypes.sizeof(table.Key), ctypes.sizeof(table.Leaf)
        if self._vsize % 8 or self._vsize < AGG.size:
            raise ValueError(f"{name}: values must start with struct agg and be 8-byte aligned")
        self._max = table.max_entries
        self._keys = ctypes.create_string_buffer(self._ksize * self._max)
        self._vals = ctypes.create_string_buffer(self._vsize * self._max)
        self._words = memoryview(self._vals).cast("B").cast("Q")
        self._key = ctypes.create_string_buffer(self._ksize)
        self._val = ctypes.create_string_buffer(self._vsize)
        # key -> its first occurrence's kernel time (reported: 1), or, once counted
        # again, [that time, the count reported so far]
        self._seen: dict[bytes, int | list] = {}
        self._new: dict[bytes, event_pb2.RuntimeEvent] = {}   # this poll's first occurrences
        self._announced: set[bytes] = set()  # keys announced since the last drain
        self._previous: set[bytes] = set()   # ... and in the generation before
        self._since = 0

    def first(self, key: bytes, first_ts: int, event: event_pb2.RuntimeEvent) -> None:
        self._seen[key] = first_ts
        self._new[key] = event

    def settle(self) -> None:
        """The end of a poll: its events are gone to the caller."""
        self._new.clear()

    def announced(self, record: bytes) -> None:
        """An EV_AGG_SEEN record for this map."""
        self._announced.add(record[8:8 + self._ksize])

    def drain(self, now_ns: int, whole: bool = False) -> Iterator[Drained]:
        """The counts added since the last drain. whole: read the whole map (something
        was lost lately), not only the keys announced; only then are keys counted once
        and never again looked at (their first record may be the one lost)."""
        since, self._since = self._since, now_ns - self.IDLE_NS
        keys, self._previous, self._announced = (self._announced | self._previous,
                                                 self._announced, set())
        n = 0
        if whole or len(self._seen) > 2 * self._max:
            n = self._read()
        entries = self._recent(n, since) if whole else self._each(keys)
        seen_keys, owner = self._seen, self.owner
        for key, count, first_ts, last_ts, value in entries:
            seen = seen_keys.get(key)
            if seen.__class__ is int:
                seen = seen_keys[key] = [seen, 1]
            if seen is None or seen[0] != first_ts:   # not seen, or evicted and counted anew
                if now_ns - first_ts > self.LOST_GRACE_NS:   # its record is not late: lost
                    record = owner.record_of(self.name, key, value)
                    if record is not None:
                        seen_keys[key] = [first_ts, count]
                        yield Drained(None, record, count, last_ts, True)
                continue
            if count > seen[1]:
                delta, seen[1] = count - seen[1], count
                new = self._new.get(key)
                yield Drained(new, None if new is not None else owner.record_of(self.name, key, value),
                              delta, last_ts, False)
        # Forget keys the LRU evicted; with slack, so not on every drain of a full map.
        if n or len(self._seen) > 2 * self._max:
            self._forget_evicted(n)

    def _each(self, keys: set[bytes]) -> Iterator[Entry]:
        """The announced keys still in the map, one lookup each."""
        for key in keys:
            value = self._lookup_one(key)
            if value is not None:
                count, first_ts, last_ts, _tick, _gen = AGG.unpack_from(value)
                yield key, count, first_ts, last_ts, value

    def _recent(self, n: int, since: int) -> Iterator[Entry]:
        """Entries of a whole-map read touched since `since`, found at C speed: the
        idle rest never reaches Python."""
        step, ksize, vsize = self._vsize // 8, self._ksize, self._vsize
        words = self._words[:n * step]
        counts, firsts, lasts = words[0::step], words[1::step], words[2::step]
        keys, vals = self._keys, self._vals
        for i in compress(range(n), map(ge, lasts.tolist(), repeat(since))):
            yield (keys[i * ksize:(i + 1) * ksize], counts[i], firsts[i], lasts[i],
                   vals[i * vsize:(i + 1) * vsize])

    def _forget_evicted(self, n: int) -> None:
        if not n:
            n = self._read()
        raw, ksize, end = self._keys.raw, self._ksize, n * self._ksize
        live = set(map(raw.__getitem__, map(slice, range(0, end, ksize),
                                            range(ksize, end + ksize, ksize))))
        self._seen = {k: v for k, v in self._seen.items() if k in live}

    def _lookup_one(self, key: bytes) -> bytes | None:
        """One key's value (BPF_MAP_LOOKUP_ELEM), None when the LRU evicted it."""
        from bcc.libbcc import lib

        self._key.raw = key
        return self._val.raw if lib.bpf_lookup_elem(self._fd, self._key, self._val) == 0 else None

    def _read(self) -> int:
        """All entries into the key/value buffers with BPF_MAP_LOOKUP_BATCH."""
        from bcc.libbcc import lib

        batch, count, total = ctypes.c_uint32(0), ctypes.c_uint32(0), 0
        while total < self._max:
            count.value = self._max - total
            res = lib.bpf_lookup_batch(
                self._fd, ctypes.byref(batch) if total else None, ctypes.byref(batch),
                ctypes.byref(self._keys, self._ksize * total),
                ctypes.byref(self._vals, self._vsize * total), ctypes.byref(count))
            err = ctypes.get_errno()
            total += count.value
            if res != 0:
                if err != errno.ENOENT:
                    raise OSError(err, f"BPF_MAP_LOOKUP_BATCH on {self.name}: {os.strerror(err)}")
                break
            if count.value == 0:
                break
        return total
