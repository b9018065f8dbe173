"""cgroup id -> container -> pod, namespace, workload, service account, image, labels.

The metadata source is, for now, a JSON file the lab writes:
    {"workloads": [{"cgroupPath": "/sys/fs/cgroup/unified/weft-lab/aks/payments/api",
                    "namespace": "payments", "pod": "api-0", "container": "api",
                    "containerId": "...", "kind": "Deployment", "name": "api",
                    "serviceAccount": "api", "image": "...", "labels": {...}}]}
A process in a child cgroup of cgroupPath belongs to that workload (the longest
matching path wins). The core (parse, match, CgroupIndex) is pure; Attributor
is the thin file- and cgroupfs-reading shell around it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from weft.v1 import event_pb2

FIELDS = {  # JSON name -> Workload field
    "namespace": "namespace", "pod": "pod", "container": "container",
    "containerId": "container_id", "kind": "kind", "name": "name",
    "serviceAccount": "service_account", "image": "image",
}
MISS_RETRY = 30.0  # seconds before a cgroup id found in no workload is looked for again
RECHECK_INTERVAL = 1.0  # seconds between looks at the metadata file's mtime


@dataclass(frozen=True)
class WorkloadEntry:
    cgroup_path: str
    workload: event_pb2.Workload = field(compare=False)


def parse_metadata(doc: dict) -> list[WorkloadEntry]:
    """The workloads of a metadata document; entries without cgroupPath are refused."""
    entries = []
    for i, item in enumerate(doc.get("workloads", [])):
        path = item.get("cgroupPath")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"workloads[{i}]: cgroupPath must be an absolute path")
        w = event_pb2.Workload(**{f: str(item[k]) for k, f in FIELDS.items() if item.get(k)})
        w.labels.update({str(k): str(v) for k, v in (item.get("labels") or {}).items()})
        entries.append(WorkloadEntry(os.path.normpath(path), w))
    return entries


def match(cgroup_path: str, entries: Iterable[WorkloadEntry]) -> WorkloadEntry | None:
    """The entry whose cgroupPath is the longest whole-component prefix of cgroup_path."""
    best = None
    for e in entries:
        if cgroup_path == e.cgroup_path or cgroup_path.startswith(e.cgroup_path.rstrip("/") + "/"):
            if best is None or len(e.cgroup_path) > len(best.cgroup_path):
                best = e
    return best


class CgroupIndex:
    """cgroup id -> workload, from the ids of every cgroup under each entry's path."""

    def __init__(self, entries: list[WorkloadEntry], paths_by_id: dict[int, str]):
        self.entries = entries
        self._by_id = {cid: m for cid, p in paths_by_id.items() if (m := match(p, entries))}

    def lookup(self, cgroup_id: int) -> event_pb2.Workload | None:
        e = self._by_id.get(cgroup_id)
        return e.workload if e else None


def walk_ids(roots: Iterable[str]) -> dict[int, str]:
    """Inode (= cgroup v2 id) of every directory under the given cgroup paths."""
    ids = {}
    for root in roots:
        for dirpath, _dirs, _files in os.walk(root):
            try:
                ids[os.stat(dirpath).st_ino] = os.path.normpath(dirpath)
            except OSError:
                continue
    return ids


class Attributor:
    """Reads the metadata file (again when its mtime changes) and answers lookups."""

    def __init__(self, path: str | None, clock: Callable[[], float] = time.monotonic):
        self._path, self._clock = path, clock
        self._mtime: float | None = None
        self._index = CgroupIndex([], {})
        self._checked = float("-inf")
        self._missed: dict[int, float] = {}

    def lookup(self, cgroup_id: int) -> event_pb2.Workload | None:
        if not self._path:
            return None
        now = self._clock()  # one clock read per event, not three
        if now - self._checked >= RECHECK_INTERVAL:
            self._reload_if_changed(now)
        found = self._index.lookup(cgroup_id)
        # A cgroup created after the last walk (a new container) is found by walking
        # again: at once for an id never seen, then only now and then.
        if found is None and now - self._missed.get(cgroup_id, float("-inf")) > MISS_RETRY:
            if len(self._missed) > 10000:
                self._missed.clear()
            self._missed[cgroup_id] = now
            self._rebuild(self._index.entries)
            found = self._index.lookup(cgroup_id)
        return found

    def _reload_if_changed(self, now: float) -> None:
        self._checked = now
        try:
            mtime = os.stat(self._path).st_mtime
        except OSError:
            return
        if mtime == self._mtime:
            return
        try:
            with open(self._path) as f:
                entries = parse_metadata(json.load(f))
        except (OSError, ValueError):
            return  # half-written or invalid: keep the last good index, retry next change
        self._mtime = mtime
        self._missed.clear()
        self._rebuild(entries)

    def _rebuild(self, entries: list[WorkloadEntry]) -> None:
        self._index = CgroupIndex(entries, walk_ids(e.cgroup_path for e in entries))
