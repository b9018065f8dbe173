"""Probes: one kernel program (bpf/<name>.c) and its parser per module.

Every probe module registers its class with @register; the collector compiles
all of them, after bpf/common.c, into one BPF object (clang costs ~1 s per
compile) sharing one ring buffer whose records start with `struct hdr`.

Probes stamp events in kernel time (CLOCK_MONOTONIC ns in the Timestamp
fields; last_seen left unset means "same as time"); the collector converts to
wall time, attributes and identifies them. Probes on the per-record hot path make
their events with `self.maker`, which the collector replaces with one that also
fills the process's context (node, workload, exe, args, parent) from a cache.
"""

from __future__ import annotations

import importlib
import pkgutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from weft.v1 import event_pb2

BPF_DIR = Path(__file__).resolve().parent.parent / "bpf"

# Record types, as in bpf/common.c.
EV_EXEC, EV_EXIT, EV_CONNECT, EV_ACCEPT, EV_FILE, EV_DNS, EV_UDP = range(1, 8)
EV_FILE_SOLO = 9  # 8 is the payload probe's EV_DATA

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


class EventMaker:
    """Makes a record's event: its kind, count 1, kernel time, and its process (pid,
    comm, uid, cgroup) from the record's header. An event that comes out with its
    `node` set carries its process context and wall time instead (weft.sensor.context)."""

    def make(self, raw: bytes, kind: int) -> event_pb2.RuntimeEvent:
        return record_event(raw, kind)


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
    # What enrich() adds depends on the event's process only (process_extras): events
    # made with their process context already carry it, and skip this enrich().
    enriches_process: ClassVar[bool] = False
    # Makes events from records (the collector sets its context-filling maker).
    maker: EventMaker = EventMaker()
    # How many of a record's first bytes identify it (its event's id is their hash);
    # 0: the whole record.
    identity_bytes: ClassVar[int] = 0

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

    def record_of(self, map_name: str, key: bytes, value: bytes) -> bytes | None:
        """The ring buffer record of a key's first occurrence, rebuilt from the key and
        its map value (which starts with struct agg): parse() of it gives the key's
        events for counts of repeats, and the first one if its record was lost."""
        return None

    def enrich(self, event: event_pb2.RuntimeEvent, kernel_ts: int) -> None:
        """Add what this probe knows to an event of one of `enrich_kinds` (after parse;
        kernel_ts is the event's time in kernel time, whatever clock it is stamped in)."""

    def process_extras(self, pid: int) -> event_pb2.Process | None:
        """For a probe that enriches_process: what enrich() merges into the process of
        pid's events (the same object until it changes)."""
        return None

    def tick(self, now_ns: int) -> list[event_pb2.RuntimeEvent]:
        """Events due from user-space state (timeouts, counters), in kernel time."""
        return []


def attach_by_hand(bpf: Any, fn: str, tracepoints: tuple[str, ...]) -> list[int]:
    """Attach program fn to each "category:event" tracepoint; the perf event fds.
    For a tracepoint another program already holds: bcc keeps one link per
    tracepoint name (and so one TRACEPOINT_PROBE), the kernel takes several."""
    from bcc import BPF
    from bcc.libbcc import lib
    prog, links = bpf.load_func(fn.encode(), BPF.TRACEPOINT), []
    for tp in tracepoints:
        category, event = tp.encode().split(b":")
        fd = lib.bpf_attach_tracepoint(prog.fd, category, event)
        if fd < 0:
            close_links(links)
            raise OSError(f"cannot attach {fn} to tracepoint {tp}")
        links.append(fd)
    return links


def close_links(links: list[int]) -> None:
    """Detach what attach_by_hand attached (emptying links)."""
    from bcc.libbcc import lib
    while links:
        lib.bpf_close_perf_event_fd(links.pop())


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
