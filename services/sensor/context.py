"""Events made with their process's context, from a cache: the per-record hot path.

ContextMaker.make(record, kind) gives what the collector's stamping would: node,
workload, process, and time = last_seen in wall time (the record's kernel time plus
the collector's offset); the probe adds its own fields, the collector the event id
and what enrichers that look at more than the process add.

Every event of a process in a cgroup carries the same node, workload and process
fields (pid, comm, uid, cgroup, and exe, args, parent from the exec probe's table).
Setting them field by field, merging the exec probe's process and copying node and
workload costs several times one copy of a ready-made template, so ContextMaker
keeps one template per (process, cgroup, uid, comm) and makes each event from it:
parsed from its serialized bytes, which costs half a CopyFrom into a new message.
A template is rebuilt when what it was built from changes: the exec probe's entry
for the process (a new object after an exec) or the cgroup's workload (a new object
after the metadata is read again) — checked by identity on every event.
"""

from __future__ import annotations

from typing import Callable

from weft.v1 import event_pb2

from .probes import HEADER, EventMaker, comm_text

MAX_TEMPLATES = 4096
_parse = event_pb2.RuntimeEvent.FromString


class ContextMaker(EventMaker):
    def __init__(self, node: event_pb2.Node,
                 workload_of: Callable[[int], event_pb2.Workload | None],
                 extras_of: Callable[[int], event_pb2.Process | None], offset: int = 0):
        self._node, self._workload_of, self._extras_of = node, workload_of, extras_of
        self.offset = offset   # wall clock - kernel clock, ns
        self._templates: dict[tuple, tuple] = {}

    def make(self, raw: bytes, kind: int) -> event_pb2.RuntimeEvent:
        _t, _tid, tgid, uid, cg, ts, comm = HEADER.unpack_from(raw)
        extras, workload = self._extras_of(tgid), self._workload_of(cg)
        key = (tgid, cg, uid, comm)
        hit = self._templates.get(key)
        if hit is None or hit[0] is not extras or hit[1] is not workload:
            if len(self._templates) >= MAX_TEMPLATES:
                self._templates.clear()
            hit = self._templates[key] = (extras, workload, self.template(
                tgid, uid, cg, comm_text(comm), extras, workload).SerializeToString())
        ev = _parse(hit[2])
        ev.kind = kind
        seconds, nanos = divmod(ts + self.offset, 1_000_000_000)
        t = ev.time
        t.seconds, t.nanos = seconds, nanos
        t = ev.last_seen
        t.seconds, t.nanos = seconds, nanos
        return ev

    def template(self, pid: int, uid: int, cg: int, comm: str, extras: event_pb2.Process | None,
                 workload: event_pb2.Workload | None) -> event_pb2.RuntimeEvent:
        """What the collector's stamping and the exec probe's enrich() give every
        event of this process (see EbpfCollector._finish)."""
        ev = event_pb2.RuntimeEvent(count=1)
        p = ev.process
        p.pid, p.comm, p.uid, p.cgroup_id = pid, comm, uid, cg
        if extras is not None:
            p.MergeFrom(extras)
        ev.node.CopyFrom(self._node)
        if workload is not None:
            ev.workload.CopyFrom(workload)
        return ev
