"""Enforcer: a node's egress policies in the kernel — applied, adopted, reported, removed.

Each policy is one set of programs and maps pinned under <pin_root>/<policy>/ and
attached to the agent's cgroups. The attachments belong to the cgroups, so enforcement
holds whether or not a sensor runs (fail closed); a restarted sensor adopts what it
finds pinned instead of loading it again, and only remove() takes a policy off.

Call refresh() and decisions() periodically (every second or so): the first re-resolves
names before their TTL runs out and retires expired answers; the second drains the
kernel's decision records into POLICY_DECISION events.
"""
from __future__ import annotations

import functools
import logging
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weft.v1 import event_pb2

from . import attachment, bpffs, decisions, layout, stored, tables
from .allowlist import AllowList, PolicyError, address_key, compile_allowlist, validate
from .libbpf import RingReader
from .pinned import ATTACH, PinnedSet, build
from .resolver import GRACE, MIN_TTL, REFRESH_FLOOR, agent_nameservers, file_nameservers, resolve

log = logging.getLogger(__name__)
S = 1_000_000_000
MAX_RESOLVERS = 16   # the resolvers map's size in bpf/enforce.c


def _locked(method):
    """Public methods run one at a time (the downlink applies from an executor thread)."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)
    return run


@dataclass
class Result:
    policy: str
    mode: str
    loaded: bool = False            # programs compiled and pinned now (False: reused)
    cgroups: list[str] = field(default_factory=list)
    attached: list[str] = field(default_factory=list)   # cgroups newly attached to
    detached: list[str] = field(default_factory=list)   # cgroups no longer selected
    resolved: dict[str, list[str]] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)
    removed: bool = False           # mode observe: nothing stays in the kernel


@dataclass
class _Active:
    pinned: PinnedSet
    allow: AllowList
    cgroups: list[str]
    reader: RingReader
    due: dict[str, int] = field(default_factory=dict)   # name -> monotonic ns of next lookup
    # Nameservers read from the agent's resolv.conf, kept while the policy is: an agent
    # whose processes come and go (a job, a restarting pod) uses them again on its next
    # start, and its first lookups then must not meet an untrusted resolver.
    agent_resolvers: list[str] = field(default_factory=list)

    def release(self) -> None:
        self.reader.close()
        self.pinned.close()


class Enforcer:
    def __init__(self, pin_root: str | Path = "/sys/fs/bpf/weft", build_dir: str | None = None, *,
                 resolvers: list[str] | None = None, node: event_pb2.Node | None = None,
                 attributor: Any = None, lookup_timeout: float = 1.0):
        """resolvers: trusted DNS servers besides the agents' own (default: the host's).
        attributor: anything with lookup(cgroup_id) -> Workload, to attribute decisions."""
        self.pin_root, self.build_dir = Path(pin_root), build_dir
        self.resolvers, self.node, self.attributor = resolvers, node, attributor
        self.lookup_timeout = lookup_timeout
        self._active: dict[str, _Active] = {}
        self._lock = threading.RLock()
        self._offset = time.clock_gettime_ns(time.CLOCK_REALTIME) - time.monotonic_ns()

    # --- lifecycle --------------------------------------------------------------------
    @_locked
    def apply(self, policy: dict, cgroups: list[Path]) -> Result:
        """Enforce (or audit) `policy` on exactly these cgroups, replacing what it had."""
        validate(policy)
        name, mode = policy["metadata"]["name"], policy["spec"]["mode"]
        if mode == "observe":
            self.remove(name)
            return Result(name, mode, removed=True)
        directory = stored.policy_dir(self.pin_root, name)
        bpffs.ensure(self.pin_root)
        active, loaded = self._active.get(name) or self._adopt_one(directory), False
        if active is None:
            build(directory, self.build_dir)
            active, loaded = self._open(directory, None), True
        try:
            return self._apply(active, policy, [str(c) for c in cgroups], loaded)
        except BaseException:
            if loaded:
                self._take_off(active, directory)
            raise

    @_locked
    def remove(self, policy_name: str) -> None:
        """Detach the policy everywhere and unpin it: nothing of it stays in the kernel."""
        directory = stored.policy_dir(self.pin_root, policy_name)
        active = self._active.pop(policy_name, None) or self._adopt_one(directory)
        if active is not None:
            self._take_off(active, directory)

    @_locked
    def adopt(self) -> list[str]:
        """Take over the policies a previous sensor left pinned; returns every policy this
        enforcer now holds. A directory whose sensor died while building it (never
        described, so never attached) is removed."""
        if not self.pin_root.exists():
            return sorted(self._active)
        bpffs.ensure(self.pin_root)
        for directory in sorted(p for p in self.pin_root.iterdir() if p.is_dir()):
            if directory.name in self._active:
                continue
            try:
                active = self._adopt_one(directory)
            except (OSError, ValueError) as e:   # left enforced as it is
                log.warning("not adopting %s: %s", directory, e)
                continue
            if active is not None:
                self._active[active.allow.name] = active
        return sorted(self._active)

    @_locked
    def close(self) -> None:
        """Let go of this process's handles; the policies stay enforced."""
        for active in self._active.values():
            active.release()
        self._active = {}

    # --- running ----------------------------------------------------------------------
    @_locked
    def refresh(self, now_ns: int | None = None) -> None:
        """Re-resolve the names whose lookup is due, retire expired answers, and follow
        the agents' resolvers."""
        now = time.monotonic_ns() if now_ns is None else now_ns
        for active in self._active.values():
            self._follow_agent_resolvers(active, active.cgroups)
            servers = self._servers(active, active.allow)
            tables.write_resolvers(active.pinned.maps, servers)
            self._lookup(active, servers, now)

    @_locked
    def decisions(self) -> list[event_pb2.RuntimeEvent]:
        """POLICY_DECISION events for every block and audit since the last call."""
        out = []
        for name, active in self._active.items():
            records = [d for d in map(decisions.parse, active.reader.drain()) if d]
            out += [self._finish(ev) for ev in
                    decisions.to_events(records, name, active.allow.mode, self._offset)]
        return out

    @_locked
    def status(self) -> dict[str, dict]:
        return {name: self._status(a) for name, a in sorted(self._active.items())}

    # --- inside -------------------------------------------------------------------------
    def _apply(self, active: _Active, policy: dict, cgroups: list[str], loaded: bool) -> Result:
        maps = active.pinned.maps
        previous = stored.read_classes(maps["classes"])
        allow = compile_allowlist(policy, previous)
        self._follow_agent_resolvers(active, cgroups)
        servers = self._servers(active, allow)
        tables.write_allowlist(maps, allow, previous, servers)
        names_changed = allow.lookups != active.allow.lookups
        active.allow, active.due = allow, dict.fromkeys(allow.lookups, 0)
        result = Result(allow.name, allow.mode, loaded, cgroups)
        answers = self._lookup(active, servers, time.monotonic_ns(), fresh=names_changed)
        result.resolved = {n: ips for n, ips in answers.items() if ips}
        result.unresolved = [n for n in allow.lookups if not answers.get(n)]
        result.cgroups, result.attached, result.detached = self._attach(active, policy, cgroups)
        self._active[allow.name] = active
        return result

    def _attach(self, active: _Active, policy: dict, cgroups: list[str]
                ) -> tuple[list[str], list[str], list[str]]:
        """Onto exactly these cgroups: (kept, newly attached, detached). The description
        names every cgroup that may hold the programs before any is touched."""
        meta, before = active.pinned.maps["meta"], active.cgroups
        stored.write(meta, stored.Stored(policy, sorted(set(before) | set(cgroups))))
        kept, attached = [], []
        for c in cgroups:
            try:
                if attachment.attach(active.pinned, Path(c)):
                    attached.append(c)
                kept.append(c)
            except FileNotFoundError:   # the pod went away since it was selected
                continue
        detached = [c for c in before if c not in kept]
        for c in detached:
            attachment.detach(active.pinned, Path(c))
        stored.write(meta, stored.Stored(policy, kept))
        active.cgroups = kept
        return kept, attached, detached

    def _adopt_one(self, directory: Path) -> _Active | None:
        if not directory.exists():
            return None
        if not (directory / "map_meta").exists():
            shutil.rmtree(directory)   # built, never described, never attached
            return None
        pinned = PinnedSet.open(directory)
        found = stored.read(pinned.maps["meta"])
        if found is None or found.layout != layout.LAYOUT:
            pinned.close()
            if found is None:
                shutil.rmtree(directory)
                return None
            raise PolicyError(f"{directory} was pinned by a sensor with layout {found.layout} "
                              f"(this one: {layout.LAYOUT}); remove it before applying again")
        return self._open(directory, found, pinned)

    def _open(self, directory: Path, found: stored.Stored | None,
              pinned: PinnedSet | None = None) -> _Active:
        """Handles on pinned objects; a set built just now gets its allow-list from apply."""
        pinned = pinned or PinnedSet.open(directory)
        allow = (compile_allowlist(found.policy, stored.read_classes(pinned.maps["classes"]))
                 if found else AllowList(directory.name, "enforce", [], {}, {}))
        return _Active(pinned, allow, found.cgroups if found else [],
                       RingReader(pinned.maps["decisions"].fd), dict.fromkeys(allow.lookups, 0))

    def _take_off(self, active: _Active, directory: Path) -> None:
        found = stored.read(active.pinned.maps["meta"])
        for cgroup in set(active.cgroups) | set(found.cgroups if found else []):
            attachment.detach(active.pinned, Path(cgroup))
        active.release()
        shutil.rmtree(directory, ignore_errors=True)

    @staticmethod
    def _follow_agent_resolvers(active: _Active, cgroups: list[str]) -> None:
        """Add the nameservers of the agent's live processes to those read before: they
        stay trusted while the policy is in force, whether or not a process runs."""
        now = agent_nameservers([Path(c) for c in cgroups])
        active.agent_resolvers = list(dict.fromkeys(now + active.agent_resolvers))[:MAX_RESOLVERS]

    def _servers(self, active: _Active, allow: AllowList) -> list[str]:
        """The trusted resolvers: the agent's own (_follow_agent_resolvers), those the
        policy names, and the configured ones (default: the host's); as many as the
        kernel's map holds, in that order."""
        configured = self.resolvers if self.resolvers is not None else file_nameservers("/etc/resolv.conf")
        return list(dict.fromkeys(active.agent_resolvers + list(allow.resolvers) + configured))[:MAX_RESOLVERS]

    def _lookup(self, active: _Active, servers: list[str], now: int, fresh: bool = False
                ) -> dict[str, list[str]]:
        """Resolve the names that are due and keep every answer until its expiry; `fresh`
        forgets earlier answers (the names changed: their classes may be wrong).
        Returns the addresses found per name looked up."""
        due = [n for n, at in active.due.items() if at <= now]
        kept = {} if fresh else tables.read_resolved(active.pinned.maps)
        entries = {a: v for a, v in kept.items() if v[1] > now}
        answers = resolve(due, servers, self.lookup_timeout) if due else {}
        for name in due:
            got = answers.get(name, [])
            ttl = min((a.ttl for a in got), default=0)
            active.due[name] = now + int(max(ttl * 0.8, REFRESH_FLOOR) * S)
            for a in got:
                key = address_key(a.ip)
                mask, expires = entries.get(key, (0, 0))
                entries[key] = (mask | active.allow.lookups[name],
                                max(expires, now + (max(a.ttl, MIN_TTL) + GRACE) * S))
        tables.write_resolved(active.pinned.maps, entries)
        return {name: [a.ip for a in answers.get(name, [])] for name in due}

    def _finish(self, ev: event_pb2.RuntimeEvent) -> event_pb2.RuntimeEvent:
        from ..ebpf import event_id

        if self.node is not None:
            ev.node.CopyFrom(self.node)
        if self.attributor is not None and (w := self.attributor.lookup(ev.process.cgroup_id)):
            ev.workload.CopyFrom(w)
        ev.event_id = event_id(ev)
        return ev

    def _status(self, active: _Active) -> dict:
        maps = active.pinned.maps
        per_cpu = [maps["counters"].get(layout.Index(i)) for i in range(len(layout.COUNTERS))]
        return {"mode": active.allow.mode, "cgroups": list(active.cgroups),
                "counters": {n: sum(v) if v is not None else 0 for n, v in zip(layout.COUNTERS, per_cpu)},
                "entries": {m: tables.count(maps[m]) for m in ("cidrs", "names", "resolved", "learned")},
                "programs": {hook: active.pinned.prog_id(hook) for hook in ATTACH}}
