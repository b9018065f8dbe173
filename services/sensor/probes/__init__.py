"""Probes: one kernel program (bpf/<name>.c) and its parser per module.

Every probe module registers its class with @register; the collector compiles
all of them, after bpf/common.c, into one BPF object (clang costs ~1 s per
compile) sharing one ring buffer whose records start with `struct hdr`.

Probes stamp events in kernel time (CLOCK_MONOTONIC ns in the Timestamp
fields; last_seen left unset means "same as time"); the collector converts to
wall time, attributes and identifies them.
"""

from __future__ import annotations

import ctypes
import errno
import importlib
import os
import pkgutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from weft.v1 import event_pb2

BPF_DIR = Path(__file__).resolve().parent.parent / "bpf"

# Record types, as in bpf/common.c.
EV_EXEC, EV_EXIT, EV_CONNECT, EV_ACCEPT, EV_FILE, EV_DNS, EV_UDP = range(1, 8)

HEADER = struct.Struct("<IIIIQQ16s")


@dataclass(frozen=True, slots=True)
class Header:
    type: int
    pid: int  # thread id
    tgid: int
    uid: int
    cgroup_id: int
    ts: int
    comm: str

    @classmethod
    def decode(cls, raw: bytes) -> Header:
        t, pid, tgid, uid, cg, ts, comm = HEADER.unpack_from(raw)
        return cls(t, pid, tgid, uid, cg, ts, comm_text(comm))

    def event(self, kind: int, ts: int | None = None) -> event_pb2.RuntimeEvent:
        """A new event of this process, stamped in kernel time."""
        return _event(kind, self.tgid, self.uid, self.cgroup_id, self.ts if ts is None else ts,
                      self.comm)


def record_event(raw: bytes, kind: int) -> event_pb2.RuntimeEvent:
    """Header.decode(raw).event(kind) without the Header: the per-record hot path."""
    _t, _pid, tgid, uid, cg, ts, comm = HEADER.unpack_from(raw)
    return _event(kind, tgid, uid, cg, ts, comm_text(comm))


def _event(kind: int, tgid: int, uid: int, cg: int, ts: int, comm: str) -> event_pb2.RuntimeEvent:
    # last_seen stays unset: the collector stamps it equal to time (one set, not two).
    ev = event_pb2.RuntimeEvent(kind=kind, count=1)
    p = ev.process
    p.pid, p.comm, p.uid, p.cgroup_id = tgid, comm, uid, cg
    t = ev.time
    t.seconds, t.nanos = divmod(ts, 1_000_000_000)
    return ev


_COMMS: dict[bytes, str] = {}  # raw comm -> text; a node runs few distinct commands


def comm_text(raw: bytes) -> str:
    text = _COMMS.get(raw)
    if text is None:
        if len(_COMMS) >= 4096:
            _COMMS.clear()
        text = _COMMS[raw] = cstr(raw)
    return text


def set_ns(ts, ns: int) -> None:
    """Timestamp from ns (protobuf's FromNanoseconds is several times slower)."""
    ts.seconds, ts.nanos = divmod(ns, 1_000_000_000)


def ns_of(ts) -> int:
    return ts.seconds * 1_000_000_000 + ts.nanos


def cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode(errors="replace")


class Probe:
    """Base of every probe; subclasses set `name` and `event_types`, and
    override what they need."""

    name: ClassVar[str]
    event_types: ClassVar[tuple[int, ...]] = ()
    # LRU aggregation maps whose counts this probe reports (drained by the collector).
    agg_maps: ClassVar[tuple[str, ...]] = ()
    # RuntimeEvent kinds enrich() adds to; the collector calls it for those only.
    enrich_kinds: ClassVar[frozenset[int]] = frozenset()

    @classmethod
    def enabled(cls, config: Any) -> bool:
        """Whether the collector loads this probe at all with this configuration."""
        return True

    def bpf_source(self) -> str:
        return (BPF_DIR / f"{self.name}.c").read_text()

    def bind(self, probes: dict[str, "Probe"]) -> None:
        """Meet the other loaded probes (by name), before configure."""

    def configure(self, bpf: Any, config: Any) -> None:
        """Fill the probe's configuration maps (after load, before events count)."""

    def attach(self, bpf: Any) -> None:
        """Attach programs bcc does not auto-attach (TRACEPOINT_PROBE ones it does)."""

    def detach(self, bpf: Any) -> None:
        """Undo what attach() did (bcc's cleanup undoes what it attached itself)."""

    def parse(self, raw: bytes) -> event_pb2.RuntimeEvent | list[event_pb2.RuntimeEvent] | None:
        """One record -> its event; a probe whose records make several (or join
        earlier ones) returns a list, and those events are identified by content."""
        raise NotImplementedError

    def agg_key(self, raw: bytes) -> tuple[str, bytes] | None:
        """The (map, key) a first-occurrence record was counted under."""
        return None

    def from_key(self, map_name: str, key: bytes) -> event_pb2.RuntimeEvent | None:
        """Rebuild an event from an aggregation key whose first record was lost."""
        return None

    def enrich(self, event: event_pb2.RuntimeEvent) -> None:
        """Add what this probe knows to an event of one of `enrich_kinds` (after parse,
        before stamping)."""

    def tick(self, now_ns: int) -> list[event_pb2.RuntimeEvent]:
        """Events due from user-space state (timeouts, counters), in kernel time."""
        return []


REGISTRY: dict[str, type[Probe]] = {}


def register(cls: type[Probe]) -> type[Probe]:
    if cls.name in REGISTRY:
        raise ValueError(f"duplicate probe name {cls.name!r}: {REGISTRY[cls.name]} and {cls}")
    REGISTRY[cls.name] = cls
    return cls


def load_all() -> dict[str, type[Probe]]:
    """Import every probe module in this package (each registers itself)."""
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
    return dict(REGISTRY)


class KernelCounts:
    """User-space side of one kernel aggregation map (struct agg per key).

    A key's first occurrence arrives as a full record (kept as the template);
    the map's count then grows in the kernel, and drain() reports each increase
    as a copy of the template whose count is the delta, so the counts of all
    events for a key sum exactly to the kernel's count."""

    AGG = struct.Struct("<QQQ")  # count, first_ts, last_ts
    LOST_GRACE_NS = 500_000_000  # a first record not seen by then was lost
    IDLE_NS = 2_000_000_000      # entries untouched since the previous drain minus this are skipped

    def __init__(self, table: Any, name: str, owner: Probe):
        from bcc.libbcc import lib

        self._lookup_batch = lib.bpf_lookup_batch
        self.name, self._table, self._owner = name, table, owner
        self._ksize = ctypes.sizeof(table.Key)
        self._max = table.max_entries
        self._keys = ctypes.create_string_buffer(self._ksize * self._max)
        self._vals = ctypes.create_string_buffer(self.AGG.size * self._max)
        self._seen: dict[bytes, list] = {}  # key -> [first_ts, reported, template]
        self._since = 0

    def first(self, key: bytes, first_ts: int, template: event_pb2.RuntimeEvent) -> None:
        self._seen[key] = [first_ts, 1, template]

    def drain(self, now_ns: int, check_unseen: bool = True):
        """Yield (template, new count, last_ts, fresh); fresh templates were rebuilt
        from the key (kernel time, count set) because their first record was lost.

        A key counted once and never again yields only when its first record was
        lost; check_unseen=False (no record lost lately) skips those keys unread."""
        n = self._read()
        keys, since, self._since = memoryview(self._keys), self._since, now_ns - self.IDLE_NS
        ksize, seen_keys = self._ksize, self._seen
        values = self.AGG.iter_unpack(self._vals[:n * self.AGG.size])
        for i, (count, first_ts, last_ts) in enumerate(values):
            if last_ts < since or (count == 1 and not check_unseen):
                continue
            key = bytes(keys[i * ksize:(i + 1) * ksize])
            seen = seen_keys.get(key)
            if seen is not None and seen[0] == first_ts:
                if count > seen[1]:
                    yield seen[2], count - seen[1], last_ts, False
                    seen[1] = count
            elif now_ns - first_ts > self.LOST_GRACE_NS:
                ev = self._owner.from_key(self.name, key)
                if ev is not None:
                    ev.count = count
                    set_ns(ev.time, first_ts)
                    seen_keys[key] = [first_ts, count, ev]
                    yield ev, count, last_ts, True
        # Forget keys the LRU evicted; with some slack, so not on every drain of a full map.
        if len(self._seen) > self._max + self._max // 4:
            live = {bytes(keys[i * ksize:(i + 1) * ksize]) for i in range(n)}
            self._seen = {k: v for k, v in self._seen.items() if k in live}

    def _read(self) -> int:
        """All entries into the key/value buffers with BPF_MAP_LOOKUP_BATCH."""
        batch, count, total = ctypes.c_uint32(0), ctypes.c_uint32(0), 0
        while total < self._max:
            count.value = self._max - total
            res = self._lookup_batch(
                self._table.map_fd, ctypes.byref(batch) if total else None, ctypes.byref(batch),
                ctypes.byref(self._keys, self._ksize * total),
                ctypes.byref(self._vals, self.AGG.size * total), ctypes.byref(count))
            err = ctypes.get_errno()
            total += count.value
            if res != 0:
                if err != errno.ENOENT:
                    raise OSError(err, f"BPF_MAP_LOOKUP_BATCH on {self.name}: {os.strerror(err)}")
                break
            if count.value == 0:
                break
        return total
