"""Process exec (exe, full argv, parent) and exit (code) — bpf/exec.c.

Also keeps the table of known processes, so other events of a process carry its
exe, argv and parent too. Processes that started before the sensor are read once
from /proc. Arguments are redacted at the node as agent sight's excerpts are (an
agent started with `--api-key sk-…` keeps its key).
"""

from __future__ import annotations

import os
import struct
import time
from collections import OrderedDict

from weft.sensor.sight.redact import Redactor
from weft.v1 import event_pb2

from . import EV_EXEC, EV_EXIT, HEADER, Header, Probe, cstr, register

EXEC_BODY = struct.Struct("<IIII256s")  # ppid, argc, args_len, truncated, filename
EXIT_BODY = struct.Struct("<Ii")        # ppid, code
KNOWN_PROCESSES = 8192
# A pid /proc could not show (it exited before its events were read): not asked again
# this soon, so a short-lived process's burst of events costs one failed read, not one each.
UNSEEN_TTL_S = 2.0
K = event_pb2.RuntimeEvent


@register
class ExecProbe(Probe):
    name = "exec"
    event_types = (EV_EXEC, EV_EXIT)
    # Every kind but exec, which carries its own process fields.
    enrich_kinds = frozenset(K.Kind.values()) - {K.PROCESS_EXEC}
    enriches_process = True

    def __init__(self, proc_root: str = "/proc", clock=time.monotonic):
        self._proc, self._clock = proc_root, clock
        self._redactor = Redactor()
        self._known: OrderedDict[int, event_pb2.Process] = OrderedDict()
        self._unseen: OrderedDict[int, float] = OrderedDict()   # pid -> when to ask /proc again

    def configure(self, bpf, config) -> None:
        self._redactor = Redactor(tuple(getattr(config, "redact_patterns", ())))

    def parse(self, raw: bytes) -> event_pb2.RuntimeEvent | None:
        hdr = Header.decode(raw)
        if hdr.type == EV_EXIT:
            ppid, code = EXIT_BODY.unpack_from(raw, HEADER.size)
            ev = hdr.event(K.PROCESS_EXIT)
            ev.exit.code = code
            ev.process.ppid = ppid or self._ppid_from_proc(hdr.tgid)
            return ev
        ppid, argc, args_len, _trunc, filename = EXEC_BODY.unpack_from(raw, HEADER.size)
        start = HEADER.size + EXEC_BODY.size
        args = raw[start:start + args_len].split(b"\0")[:argc]
        ev = hdr.event(K.PROCESS_EXEC)
        p = ev.process
        p.exe = cstr(filename)
        p.args.extend(self._redactor.texts([a.decode(errors="replace") for a in args]))
        p.ppid = ppid or self._ppid_from_proc(hdr.tgid)
        self._remember(hdr.tgid, p)
        return ev

    def enrich(self, event: event_pb2.RuntimeEvent, kernel_ts: int) -> None:
        p = event.process
        known = self.process_extras(p.pid)
        if known is None:
            return
        if p.exe:
            if not p.ppid:
                p.ppid = known.ppid
        elif p.ppid:  # an exit carries its own parent
            ppid = p.ppid
            p.MergeFrom(known)
            p.ppid = ppid
        else:
            p.MergeFrom(known)  # exe, args, ppid: one call, not three field copies

    def process_extras(self, pid: int) -> event_pb2.Process | None:
        """exe, args and ppid of pid, as enrich() merges them into events without
        their own (the same object until pid execs again)."""
        return self._known.get(pid) or self._from_proc(pid)

    def args_of(self, pid: int) -> list[str]:
        known = self._known.get(pid) or self._from_proc(pid)
        return list(known.args) if known else []

    def children_of(self, pid: int) -> list[int]:
        """Children seen to exec, oldest first (they may have exited since)."""
        return [child for child, proc in self._known.items() if proc.ppid == pid]

    def _remember(self, pid: int, proc: event_pb2.Process) -> None:
        """Keep what enrich adds to other events of pid (exe, args, ppid), only that."""
        self._known[pid] = event_pb2.Process(exe=proc.exe, args=proc.args, ppid=proc.ppid)
        self._known.move_to_end(pid)
        self._unseen.pop(pid, None)
        while len(self._known) > KNOWN_PROCESSES:
            self._known.popitem(last=False)

    def _from_proc(self, pid: int) -> event_pb2.Process | None:
        """A process that exec'd before the sensor started (read once, then cached)."""
        now = self._clock()
        if self._unseen.get(pid, 0.0) > now:
            return None
        base = f"{self._proc}/{pid}"
        try:
            with open(f"{base}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
            exe = os.readlink(f"{base}/exe")
        except OSError:
            self._not_seen(pid, now)
            return None
        proc = event_pb2.Process(pid=pid, exe=exe, ppid=self._ppid_from_proc(pid))
        proc.args.extend(self._redactor.texts([a.decode(errors="replace") for a in args if a]))
        self._remember(pid, proc)
        return self._known[pid]

    def _not_seen(self, pid: int, now: float) -> None:
        self._unseen[pid] = now + UNSEEN_TTL_S
        self._unseen.move_to_end(pid)
        while len(self._unseen) > KNOWN_PROCESSES:
            self._unseen.popitem(last=False)

    def _ppid_from_proc(self, pid: int) -> int:
        try:
            with open(f"{self._proc}/{pid}/status") as f:
                for line in f:
                    if line.startswith("PPid:"):
                        return int(line.split()[1])
        except (OSError, ValueError):
            pass
        return 0
