"""Which cgroups are the agent's: the policy's agent selector against the sensor's
workload metadata (the file the Attributor reads). Pure but for reading that file."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from ..attribution import WorkloadEntry, parse_metadata


def matches(agent: dict, entry: WorkloadEntry, cluster: str | None = None) -> bool:
    """spec.agent: namespace, and when given workload, serviceAccount, podLabels (all of
    them) and clusters (empty: every cluster; a sensor that does not know its cluster
    matches none of a non-empty list)."""
    w = entry.workload
    clusters = agent.get("clusters") or []
    return (w.namespace == agent["namespace"]
            and agent.get("workload") in (None, "", w.name)
            and agent.get("serviceAccount") in (None, "", w.service_account)
            and all(w.labels.get(k) == v for k, v in (agent.get("podLabels") or {}).items())
            and (not clusters or cluster in clusters))


def select_cgroups(policy: dict, metadata: Any, cluster: str | None = None) -> list[Path]:
    """The cgroups of every workload the policy's agent selector matches, that exist.

    metadata: an Attributor, a metadata file path, its parsed document, or entries."""
    agent = policy["spec"]["agent"]
    paths = {Path(e.cgroup_path) for e in _entries(metadata) if matches(agent, e, cluster)}
    return sorted(p for p in paths if p.is_dir())


def _entries(metadata: Any) -> Iterable[WorkloadEntry]:
    if isinstance(metadata, (str, os.PathLike)):
        with open(metadata) as f:
            return parse_metadata(json.load(f))
    if isinstance(metadata, dict):
        return parse_metadata(metadata)
    path = getattr(metadata, "_path", None)   # an Attributor: it has no public accessor yet
    if path is not None or hasattr(metadata, "lookup"):
        return _entries(path) if path else []
    return list(metadata)
