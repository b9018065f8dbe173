"""TLS plaintext through OpenSSL uprobes — bpf/tls.c.

Uprobes attach to a library file (an inode), so each distinct libssl is found
and attached once: the host's at start, and every other one a watched process
has mapped (a container's own image brings its own), found by reading the
maps of watched processes every RESCAN_NS, and soon after a watched process
execs. An executable that carries OpenSSL itself and exports its SSL calls
(Node.js's official builds: `node` maps no libssl) is attached as a libssl is.
Where in the file they go is sight/libssl.py's choice. Records are the payload
probe's; so are the request heads the kernel held for a body that never came,
taken here."""
from __future__ import annotations

import ctypes
import logging
import os
import re
import time
from pathlib import Path
from typing import Any

from weft.sensor import elf
from weft.sensor.sight import libssl
from weft.sensor.sight.assembler import BODY_WAIT_NS
from weft.sensor.sight.records import RECORD
from weft.v1 import event_pb2

from . import Probe, register

log = logging.getLogger(__name__)

RESCAN_NS = 2_000_000_000
EXEC_RESCAN_NS = 100_000_000   # after a watched exec, a rescan at the first tick this much later
MAX_SCANS = 5
MAX_REMEMBERED = 65536
DETACHED = float("inf")
HOST_LIBSSL = ("/lib/x86_64-linux-gnu/libssl.so.3", "/usr/lib/x86_64-linux-gnu/libssl.so.3",
               "/lib/aarch64-linux-gnu/libssl.so.3", "/usr/lib64/libssl.so.3", "/usr/lib/libssl.so.3")
_LIBSSL = re.compile(r"\s(/\S*/libssl\.so[.\d]*)$")


@register
class TlsProbe(Probe):
    name = "tls"
    enrich_kinds = frozenset({event_pb2.RuntimeEvent.PROCESS_EXEC})   # a new process: rescan soon

    @classmethod
    def enabled(cls, config: Any) -> bool:
        return getattr(config, "sight", True) and getattr(config, "tls", True)

    def __init__(self, proc: str = "/proc"):
        self._proc = proc
        self._bpf = None
        self._seen: set[tuple[int, int]] = set()   # (st_dev, st_ino) of each file looked at
        self._held: dict[str, tuple[int, list[libssl.Uprobe]]] = {}   # bcc path -> (fd, its uprobes)
        self._scans: dict[int, int] = {}   # pid -> scans so far (a process loads libssl late)
        self._cgroups: list[str] = []
        self._next_scan = 0
        self._payload: Probe | None = None
        self.libraries: list[str] = []

    def bind(self, probes: dict[str, Probe]) -> None:
        self._payload = probes.get("payload")

    def configure(self, bpf: Any, config: Any) -> None:
        self._cgroups = list(config.watch_cgroups)

    def attach(self, bpf: Any) -> None:
        self._bpf = bpf
        self._next_scan = 0
        for path in HOST_LIBSSL:
            if os.path.exists(path):
                self._attach(path)
        self._rescan()

    def detach(self, bpf: Any) -> None:
        for held, (fd, probes) in self._held.items():
            self._detach(bpf, held, probes)
            os.close(fd)
        self._held.clear()
        self.libraries.clear()
        self._seen.clear()
        self._scans.clear()
        self._next_scan = DETACHED   # detached stays detached: no rescan attaches again

    def tick(self, now_ns: int):
        if now_ns >= self._next_scan:
            self._next_scan = now_ns + RESCAN_NS
            self._rescan()
        return self._take_held(now_ns)

    def enrich(self, event: event_pb2.RuntimeEvent, kernel_ts: int) -> None:
        """A watched process exec'd: its libraries or executable may be a TLS stack not
        attached yet, and an agent's first model call comes within a second of its start."""
        if self._next_scan != DETACHED:
            self._next_scan = min(self._next_scan, time.monotonic_ns() + EXEC_RESCAN_NS)

    def _take_held(self, now_ns: int) -> list:
        """Request heads the kernel has held as long as a body is waited for, taken
        from it (unless it sends one meanwhile) and parsed as the records they are."""
        if self._bpf is None or self._payload is None:
            return []
        from bcc.libbcc import lib
        table, out = self._bpf[b"tls_held"], []
        for key in list(table.keys()):
            try:
                held = table[key]
            except KeyError:
                continue
            if now_ns - held.h.ts < BODY_WAIT_NS or lib.bpf_lookup_and_delete(
                    table.map_fd, ctypes.byref(key), ctypes.byref(held)):
                continue
            events = self._payload.parse(bytes(held)[:RECORD.size + held.captured])
            out += events if isinstance(events, list) else [events]
        return out

    def _attach(self, path: str, executable: bool = False) -> None:
        """Uprobes on the file at path, through a descriptor held while they are: a
        container's file is reached through its process's /proc/<pid>/root, and the
        probes must still be found and taken off after that process has gone. Each
        file is looked at once; an executable without SSL calls of its own is the rule
        and passes unsaid."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) in self._seen:
            os.close(fd)
            return
        self._seen.add((st.st_dev, st.st_ino))
        if executable:
            try:
                path = os.readlink(path)   # its name, for the log
            except OSError:
                pass
        held = f"/proc/self/fd/{fd}"
        so = elf.read(held, libssl.SYMBOLS)
        probes = libssl.uprobes(so) if so else []
        if not probes:
            if not executable:
                log.warning("TLS sight: no SSL_read/SSL_write symbols in %s", path)
            os.close(fd)
            return
        done: list[libssl.Uprobe] = []
        try:
            for u in probes:
                attach = self._bpf.attach_uretprobe if u.on_return else self._bpf.attach_uprobe
                attach(name=held.encode(), addr=u.vaddr, fn_name=u.program.encode())
                done.append(u)
        except Exception as e:  # a foreign libssl: say so, keep the rest
            log.warning("TLS sight: cannot attach to %s: %s", path, e)
            self._detach(self._bpf, held, done)
            os.close(fd)
            return
        self._held[held] = (fd, probes)
        self.libraries.append(path)
        log.info("TLS sight: attached to %s (%s)", path, ", ".join(map(str, probes)))

    @staticmethod
    def _detach(bpf: Any, path: str, probes: list[libssl.Uprobe]) -> None:
        for u in probes:
            detach = bpf.detach_uretprobe if u.on_return else bpf.detach_uprobe
            detach(name=path.encode(), addr=u.vaddr)

    def _rescan(self) -> None:
        """The executables of watched processes, and the libssl files they map, each
        process looked at until it maps one or for MAX_SCANS rescans."""
        scans = self._scans
        for pid in self._watched_pids():
            if scans.get(pid, 0) >= MAX_SCANS:
                continue
            self._attach(f"{self._proc}/{pid}/exe", executable=True)   # OpenSSL inside: Node.js
            libs = self._libssl_of(pid)
            for lib in libs:
                self._attach(f"{self._proc}/{pid}/root{lib}")
            scans[pid] = MAX_SCANS if libs else scans.get(pid, 0) + 1
        if len(scans) > MAX_REMEMBERED:
            scans.clear()
        if len(self._seen) > MAX_REMEMBERED:   # files seen again are looked at again; attached ones stay so
            self._seen = {(st.st_dev, st.st_ino) for st in (os.fstat(fd) for fd, _ in self._held.values())}

    def _watched_pids(self) -> set[int]:
        if not self._cgroups:   # every cgroup watched
            return {int(p) for p in os.listdir(self._proc) if p.isdigit()}
        pids = set()
        for root in self._cgroups:
            for procs in Path(root).rglob("cgroup.procs"):
                try:
                    pids.update(int(p) for p in procs.read_text().split())
                except (OSError, ValueError):
                    pass
        return pids

    def _libssl_of(self, pid: int) -> set[str]:
        try:
            with open(f"{self._proc}/{pid}/maps") as maps:
                return {m.group(1) for line in maps if (m := _LIBSSL.search(line.rstrip()))}
        except OSError:
            return set()
