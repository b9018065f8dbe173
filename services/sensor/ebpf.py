"""The eBPF collector: every probe in one BPF object, drained on a timer.

The kernel never wakes us per event (BPF_RB_NO_WAKEUP); poll() consumes the ring
buffer, turns records into RuntimeEvents through their probes, and every
DRAIN_INTERVAL reads the counts of repeats from the kernel's aggregation maps
(the keys the kernel announced, see aggregates.py).
"""

from __future__ import annotations

import asyncio
import ctypes
import hashlib
import logging
import os
import platform
import secrets
import time
from dataclasses import dataclass, field
from operator import itemgetter
from typing import AsyncIterator

from weft.v1 import event_pb2

from .aggregates import EV_AGG_SEEN, KernelCounts
from .attribution import Attributor
from .context import ContextMaker
from .errors import SensorUnavailable, default_build_dir, kernel_headers, preflight
from .probes import BPF_DIR, Probe, load_all, ns_of, set_ns
from .ringbuf import MappedRing, in_place_supported
from .yielding import YIELD_NICE, ThreadPriority

log = logging.getLogger(__name__)

# 4 MiB: ~14 k file records, or ~0.8 s of an agent making 6,000 model calls a second
# (~0.5 MiB a poll), before records are lost; yielding.py takes the CPU back at half.
# Larger costs the workloads: the kernel writes records from their threads, and a
# 16 MiB ring (cycling through more cache) cost agent sight's loop ~1 point more.
RINGBUF_PAGES = 1024
AGG_ENTRIES = 8192          # per aggregation map
DRAIN_INTERVAL_NS = 500_000_000
RULES_INTERVAL_NS = 2_000_000_000
# After the kernel counts a lost record (and after start), drains read whole maps
# this long, for first records never seen and announcements missed
# (> KernelCounts.LOST_GRACE_NS + IDLE_NS + a drain interval).
UNSEEN_CHECK_NS = 4_000_000_000
CG_WATCH, CG_EXCLUDE = 1, 2
DEFAULT_PREFIXES = ["/etc/", "/var/run/secrets/", "/root/", "/home/", "/srv/", "/data/"]


@dataclass
class EbpfConfig:
    node: event_pb2.Node
    watch_cgroups: list[str] = field(default_factory=list)    # subtrees watched; empty = all
    exclude_cgroups: list[str] = field(default_factory=list)  # subtrees never watched
    file_prefixes: list[str] = field(default_factory=lambda: list(DEFAULT_PREFIXES))
    metadata_file: str | None = None
    # Seconds between polls of the ring buffer. Each poll costs a wake-up (~0.2 ms of CPU
    # on a shared 2-vCPU VM, events or not); 10 a second keep that small, and events
    # reach the caller at most this late (counts of repeats: at the next drain, 0.5 s,
    # after up to a tick in the kernel, longer for a thread that stopped: aggregates.py).
    flush_interval: float = 0.1
    # Events per message up to the gateway. Every stage pays per message as well as per
    # event (a bus message, a fetch, a transaction), so a busy node sends few large
    # messages; a quiet one still sends what a poll found, at once.
    max_batch: int = 2000
    # default: $WEFT_KERNEL_BUILD_DIR, else /lib/modules/$(uname -r)/build
    kernel_build_dir: str | None = None
    # Agent sight: HTTP, TLS plaintext and MCP over stdio (probes payload and tls).
    sight: bool = True
    tls: bool = True
    excerpt_bytes: int = 256              # bounded prompt/response/argument excerpts; 0 = none
    redact_patterns: list[str] = field(default_factory=list)   # regexes removed besides the built-in ones
    # Seconds each workload's syscall set is learnt from when its cgroup is first seen
    # (for seccomp); 0: never (the raw syscall tracepoint is not attached).
    syscall_learning_s: float = 0
    # The nice the polling thread runs at while it keeps up; back to 0 while it falls
    # behind (yielding.py). 0: never yield.
    yield_nice: int = YIELD_NICE


def task_storage_usable(release: str) -> bool:
    """Whether tracing programs may keep per-task storage (Linux 5.11+); without it,
    file.c and tcp.c keep a syscall's arguments from its entry to its exit in a hash
    by thread (STASH_HASH)."""
    try:
        major, minor = (int(x) for x in release.split("-")[0].split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (5, 11)


def event_id(ev: event_pb2.RuntimeEvent) -> str:
    """Content-derived: node, kind, process, kernel time and payload decide it."""
    ev.event_id = ""
    return hashlib.blake2b(ev.SerializeToString(deterministic=True), digest_size=16).hexdigest()


def record_ids(node: event_pb2.Node):
    """id(record) for events parsed from one kernel record: the node and the record
    (type, thread, kernel time, payload; or as much of it as its probe's
    identity_bytes say) decide it. Cheaper than event_id, which re-serializes the
    finished message; the person tag keeps the two apart."""
    seed = hashlib.blake2b(node.SerializeToString(deterministic=True), digest_size=16,
                           person=b"weft-record")

    def record_id(record: bytes) -> str:
        h = seed.copy()
        h.update(record)
        return h.hexdigest()
    return record_id


class EbpfCollector:
    def __init__(self, config: EbpfConfig):
        self.config = config
        self._bpf = None
        self._probes: list[Probe] = []
        self._by_type: dict[int, Probe] = {}
        self._enrichers: dict[int, list] = {}  # RuntimeEvent kind -> probes' enrich methods
        self._event_enrichers: dict[int, list] = {}  # ... those events made in context still need
        self._record_id = record_ids(config.node)
        self._counts: dict[str, KernelCounts] = {}
        self._counts_by_id: dict[int, KernelCounts] = {}
        self._generation = ctypes.c_uint32(1)
        self._raw: list[bytes] = []
        self._ring: MappedRing | None = None   # else bcc's callbacks fill _raw
        self._priority: ThreadPriority | None = None   # yields only where the ring's fill is read
        self._rules: dict[int, int] | None = None
        self._attribution = Attributor(config.metadata_file)
        self._offset = 0
        self._next_drain = self._next_rules = 0
        self._lost, self._check_unseen_until = 0, 0
        self._stats = {"events_total": 0, "records": 0, "count_updates": 0}

    def start(self) -> None:
        build = self.config.kernel_build_dir or default_build_dir()
        problems = preflight(kernel_build_dir=build)
        if problems:
            raise SensorUnavailable(problems)
        self._probes = [cls() for cls in load_all().values() if cls.enabled(self.config)]
        for probe in self._probes:
            probe.bind({p.name: p for p in self._probes})
        self._use_probes(self._probes)
        self._bpf = self._compile(build)
        try:
            self._apply_cgroup_rules()
            for probe in self._probes:
                probe.configure(self._bpf, self.config)
                probe.attach(self._bpf)
                self._by_type.update(dict.fromkeys(probe.event_types, probe))
                for name in probe.agg_maps:
                    counts = KernelCounts(self._bpf[name.encode()], name, probe)
                    self._counts[name] = self._counts_by_id[counts.map_id] = counts
            self._bump_generation()
            self._bpf[b"cg_verdict"].clear()  # verdicts cached before the rules were in
            self._forget_verdicts()
            ring = self._bpf[b"events"]
            if in_place_supported():
                self._ring = MappedRing(ring.map_fd, ring.max_entries)
                self._priority = ThreadPriority(self.config.yield_nice)
            else:
                ring.open_ring_buffer(self._on_record)
        except BaseException:
            self.close()
            raise
        self._offset = time.clock_gettime_ns(time.CLOCK_REALTIME) - time.monotonic_ns()
        self._maker.offset = self._offset
        # Repeats counted between the programs' load and the first generation are
        # announced as of generation 0: the first drains read whole maps.
        self._check_unseen_until = time.monotonic_ns() + UNSEEN_CHECK_NS

    def _use_probes(self, probes: list[Probe]) -> None:
        """Route enrichment, and make the probes' events in context (context.py)."""
        self._probes = probes
        kinds = event_pb2.RuntimeEvent.Kind.values()
        self._enrichers = {kind: [p.enrich for p in probes if kind in p.enrich_kinds]
                           for kind in kinds}
        self._event_enrichers = {kind: [p.enrich for p in probes if kind in p.enrich_kinds
                                        and not p.enriches_process] for kind in kinds}
        extras = [p.process_extras for p in probes if p.enriches_process]
        if len(extras) > 1:
            raise ValueError("more than one probe enriches processes")
        self._maker = ContextMaker(self.config.node, self._attribution.lookup,
                                   extras[0] if extras else lambda _pid: None, self._offset)
        for p in probes:
            p.maker = self._maker

    def _compile(self, build: str):
        from .compiling import compile_bpf

        headers = kernel_headers(build)
        source = "\n".join([(BPF_DIR / "common.c").read_text()]
                           + [p.bpf_source() for p in self._probes])
        cflags = [f"-DRINGBUF_PAGES={RINGBUF_PAGES}", f"-DFILE_AGG_ENTRIES={AGG_ENTRIES}",
                  f"-DNET_AGG_ENTRIES={AGG_ENTRIES}", f"-DFILE_FP_SEED={secrets.randbits(64):#x}ULL",
                  *headers.cflags]
        if not task_storage_usable(platform.release()):
            cflags.append("-DSTASH_HASH")
        try:
            return compile_bpf(source.encode(), cflags, headers.source)
        except Exception as exc:
            raise SensorUnavailable([f"the probes failed to compile or load ({exc}; "
                                     "clang/verifier output above)"]) from exc

    def _on_record(self, _ctx, data, size) -> int:
        self._raw.append(ctypes.string_at(data, size))
        return 0

    def poll(self) -> list[event_pb2.RuntimeEvent]:
        """Everything ready now, in time order; never blocks."""
        if self._ring is not None:
            raw = self._ring.consume()
            self._priority.after_poll(self._ring.fill)
        else:
            self._bpf.ring_buffer_consume()
            raw, self._raw = self._raw, []
        stamped: list[tuple[int, event_pb2.RuntimeEvent]] = []  # (wall ns, event)
        by_type, finish = self._by_type, self._finish
        for record in raw:
            rtype = int.from_bytes(record[:4], "little")
            probe = by_type.get(rtype)
            if probe is None:
                if rtype == EV_AGG_SEEN:
                    self._announced(record)
                continue
            ev = probe.parse(record)
            if ev is None:
                continue
            if ev.__class__ is list:
                stamped.extend((finish(e, self._kernel_ns(e)), e) for e in ev)
                continue
            first_ts = int.from_bytes(record[24:32], "little")   # struct hdr's ts: the event's
            identity = record[:probe.identity_bytes] if probe.identity_bytes else record
            stamped.append((finish(ev, first_ts, identity), ev))
            if probe.agg_maps and (key := probe.agg_key(record)):
                self._counts[key[0]].first(key[1], first_ts, ev)
        self._stats["records"] += len(raw)
        now = time.monotonic_ns()
        if now >= self._next_rules:
            self._next_rules = now + RULES_INTERVAL_NS
            self._apply_cgroup_rules()
        if now >= self._next_drain:
            self._next_drain = now + DRAIN_INTERVAL_NS
            stamped.extend((ns_of(ev.time), ev) for ev in self._drain(now))
        for counts in self._counts.values():
            counts.settle()
        stamped.sort(key=itemgetter(0))
        self._stats["events_total"] += len(stamped)
        return [ev for _, ev in stamped]

    def _drain(self, now: int) -> list[event_pb2.RuntimeEvent]:
        """Events due from probe state, and the counts of repeats since the last drain.
        A repeat of a first occurrence still in this poll's output is folded into it."""
        out = []
        for p in self._probes:
            for ev in p.tick(now):
                self._finish(ev, self._kernel_ns(ev))
                out.append(ev)
        self._bump_generation()
        lost = self._lost_records()
        if lost != self._lost:
            self._lost, self._check_unseen_until = lost, now + UNSEEN_CHECK_NS
        whole = now <= self._check_unseen_until
        for counts in self._counts.values():
            for d in counts.drain(now, whole):
                if d.event is not None:   # still in this poll's output: the count folds in
                    ev = d.event
                    ev.count += d.count
                else:   # the first occurrence again, from its rebuilt record
                    ev = counts.owner.parse(d.record)
                    if ev is None or ev.__class__ is list:
                        continue
                    self._finish(ev, int.from_bytes(d.record[24:32], "little"), identify=False)
                    ev.count = d.count
                    if not d.fresh:   # a lost first record keeps its own time
                        set_ns(ev.time, d.last_ts + self._offset)
                        self._stats["count_updates"] += 1
                    out.append(ev)
                set_ns(ev.last_seen, d.last_ts + self._offset)
                ev.event_id = event_id(ev)
        return out

    def _finish(self, ev: event_pb2.RuntimeEvent, kernel_ts: int, record: bytes | None = None,
                identify: bool = True) -> int:
        """Kernel-time event from a probe -> enriched, wall-time, attributed, identified
        (by its record when it came from one). Returns its wall time in ns. An event
        made in context (it has its node: context.py) has its node, workload, process
        and wall time already."""
        wall = kernel_ts + self._offset
        if ev.HasField("node"):
            for enrich in self._event_enrichers.get(ev.kind, ()):
                enrich(ev, kernel_ts)
        else:
            for enrich in self._enrichers.get(ev.kind, ()):
                enrich(ev, kernel_ts)
            seconds, nanos = divmod(wall, 1_000_000_000)
            t = ev.time
            t.seconds, t.nanos = seconds, nanos
            last = ev.last_seen
            if ev.HasField("last_seen"):
                set_ns(last, ns_of(last) + self._offset)
            else:  # probes leave it unset when it equals time
                last.seconds, last.nanos = seconds, nanos
            ev.node.CopyFrom(self.config.node)
            if workload := self._attribution.lookup(ev.process.cgroup_id):
                ev.workload.CopyFrom(workload)
        if identify:
            ev.event_id = self._record_id(record) if record else event_id(ev)
        return wall

    def _kernel_ns(self, ev: event_pb2.RuntimeEvent) -> int:
        """The kernel time of an event a probe made: made in context (it has its node),
        its time is wall time already."""
        return ns_of(ev.time) - self._offset if ev.HasField("node") else ns_of(ev.time)

    def _announced(self, record: bytes) -> None:
        if counts := self._counts_by_id.get(int.from_bytes(record[4:8], "little")):
            counts.announced(record)

    def _bump_generation(self) -> None:
        """Repeats counted from now on are announced again (struct agg's gen)."""
        from bcc.libbcc import lib

        self._generation.value += 1
        if self._generation.value == 0:   # 0 marks a key never announced
            self._generation.value = 1
        zero = ctypes.c_int(0)
        if lib.bpf_update_elem(self._bpf[b"agg_gen"].map_fd, ctypes.byref(zero),
                               ctypes.byref(self._generation), 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot set the aggregation generation")

    def _forget_verdicts(self) -> None:
        """Verdicts tasks keep (bpf/file.c's stash) are of the rules' previous generation."""
        table = self._bpf[b"cg_rules_gen"]
        gen = table[ctypes.c_int(0)].value
        table[ctypes.c_int(0)] = ctypes.c_uint32((gen + 1) & 0xFFFFFFFF)

    def _apply_cgroup_rules(self) -> None:
        """(Re)resolve watched/excluded paths: a cgroup may appear, or be recreated."""
        rules = {}
        for paths, rule in ((self.config.watch_cgroups, CG_WATCH),
                            (self.config.exclude_cgroups, CG_EXCLUDE)):
            for path in paths:
                try:
                    rules[os.stat(path).st_ino] = rule
                except OSError:
                    log.debug("cgroup %s does not exist (yet)", path)
        if rules == self._rules:
            return
        table = self._bpf[b"cg_rules"]
        for cid in set(self._rules or ()) - set(rules):
            del table[ctypes.c_uint64(cid)]
        for cid, rule in rules.items():
            table[ctypes.c_uint64(cid)] = ctypes.c_uint8(rule)
        default = 0 if self.config.watch_cgroups else 1
        self._bpf[b"cg_default"][ctypes.c_int(0)] = ctypes.c_uint8(default)
        self._bpf[b"cg_verdict"].clear()
        self._forget_verdicts()
        self._rules = rules

    def _lost_records(self) -> int:
        return int(self._bpf[b"lost"].sum(0).value)

    def stats(self) -> dict:
        lost = self._lost_records() if self._bpf else 0
        return {**self._stats, "events_lost": lost,
                "programs_loaded": [p.name for p in self._probes] if self._bpf else [],
                "tracepoints": self._bpf.num_open_tracepoints() if self._bpf else 0,
                "watched_cgroups": sum(r == CG_WATCH for r in (self._rules or {}).values()),
                "ring_fill": self._ring.fill if self._ring else 0.0,
                "nice": self._priority.nice if self._priority else 0,
                "times_behind": self._priority.yielding.times_behind if self._priority else 0}

    def close(self) -> None:
        if self._priority is not None:
            self._priority.release()
        if self._ring is not None:
            self._ring.close()
            self._ring = None
        if self._bpf is not None:
            for probe in self._probes:
                probe.detach(self._bpf)
            self._bpf.cleanup()
            self._bpf = None


async def collect(config: EbpfConfig, collector: EbpfCollector | None = None
                  ) -> AsyncIterator[list[event_pb2.RuntimeEvent]]:
    """Non-empty batches of at most max_batch events, polled every flush_interval.
    Pass `collector` to read its stats() meanwhile; it is started and closed here.

    poll() never blocks and is short, so it runs on the event loop itself: handing
    each poll to a worker thread and back cost more CPU than the poll on an idle node."""
    loop = asyncio.get_running_loop()
    collector = collector or EbpfCollector(config)
    await loop.run_in_executor(None, collector.start)   # compiling takes seconds
    try:
        while True:
            events = collector.poll()
            for i in range(0, len(events), config.max_batch):
                yield events[i:i + config.max_batch]
            await asyncio.sleep(config.flush_interval)
    finally:
        collector.close()


def main(argv: list[str] | None = None) -> int:
    """`python -m weft.sensor.ebpf`: print events as JSON Lines (a debugging aid)."""
    import argparse
    import json
    import socket
    import sys

    from google.protobuf import json_format

    ap = argparse.ArgumentParser(prog="python -m weft.sensor.ebpf", description=main.__doc__)
    ap.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")
    ap.add_argument("--watch", action="append", default=[], help="cgroup v2 subtree to watch")
    ap.add_argument("--exclude", action="append", default=[], help="cgroup v2 subtree to skip")
    ap.add_argument("--prefix", action="append", help="file path prefix to report")
    ap.add_argument("--metadata", help="workload metadata JSON file")
    ap.add_argument("--cluster", default="local")
    ap.add_argument("--node", default=socket.gethostname())
    args = ap.parse_args(argv)
    config = EbpfConfig(
        node=event_pb2.Node(cluster=args.cluster, name=args.node, provider=event_pb2.Node.OTHER),
        watch_cgroups=args.watch, exclude_cgroups=args.exclude, metadata_file=args.metadata,
        file_prefixes=args.prefix or list(DEFAULT_PREFIXES))
    collector = EbpfCollector(config)
    try:
        collector.start()
    except SensorUnavailable as exc:
        print(f"weft sensor: {exc}", file=sys.stderr)
        return 2
    deadline = time.monotonic() + args.seconds if args.seconds else float("inf")
    try:
        while time.monotonic() < deadline:
            for ev in collector.poll():
                print(json_format.MessageToJson(ev, indent=None), flush=True)
            time.sleep(config.flush_interval)
    except KeyboardInterrupt:
        pass
    finally:
        print(json.dumps(collector.stats()), file=sys.stderr)
        collector.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
