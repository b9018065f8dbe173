"""Per-cluster workload metadata files: what a kubelet would tell the sensor about each
container. The sensor maps a cgroup path to a workload with them; the lab DNS answers
service names from them. Ids are derived from names, so a workload keeps its pod name and
container id across labs."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path

from weft.common import cgroupfs
from weft.lab import topology

POD_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"   # Kubernetes' suffix alphabet: no vowels


def file_for(lab_dir: Path, cluster: str) -> Path:
    return lab_dir / f"{cluster}-workloads.json"


def _suffix(seed: str, length: int) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(POD_ALPHABET[b % len(POD_ALPHABET)] for b in digest[:length])


def entry(cluster: str, namespace: str, workload: str, service_account: str = "",
          cgroup_mount: str = "/sys/fs/cgroup/unified") -> dict:
    """One workload's metadata, as the sensor reads it; pure."""
    key = f"{cluster}/{namespace}/{workload}"
    return {
        "cgroupPath": f"{cgroup_mount}/{topology.workload_cgroup(cluster, namespace, workload)}",
        "namespace": namespace,
        "pod": f"{workload}-{_suffix(key + '/rs', 10)}-{_suffix(key + '/pod', 5)}",
        "container": workload,
        "containerId": hashlib.sha256(f"{key}/container".encode()).hexdigest(),
        "kind": "Deployment",
        "name": workload,
        "serviceAccount": service_account or workload,
        "image": f"lab/{workload}:1",
        "labels": {"app": workload},
    }


def read(path: Path) -> list[dict]:
    try:
        return json.loads(path.read_text())["workloads"]
    except FileNotFoundError:
        return []


def write(path: Path, workloads: list[dict]) -> None:
    """Atomically, so a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"workloads": workloads}, indent=2) + "\n")
    tmp.replace(path)


@contextmanager
def _locked(path: Path):
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def upsert(lab_dir: Path, cluster: str, namespace: str, workload: str, service_account: str = "") -> dict:
    """Add the workload's entry (or update its service account); returns the entry."""
    path = file_for(lab_dir, cluster)
    new = entry(cluster, namespace, workload, service_account, str(cgroupfs.v2_mount()))
    with _locked(path):
        current = read(path)
        old = next((w for w in current if w["cgroupPath"] == new["cgroupPath"]), None)
        if old and not service_account:
            return old
        if old != new:
            write(path, [new if w is old else w for w in current] + ([] if old else [new]))
    return new


def remove_files(lab_dir: Path, cluster: str) -> None:
    path = file_for(lab_dir, cluster)
    for p in (path, path.with_name(path.name + ".lock"), path.with_name(path.name + ".tmp")):
        if p.exists():
            os.unlink(p)
