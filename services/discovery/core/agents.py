"""Logical agent identity: one name for an agent wherever it runs, a content-derived id,
and the short names the CLI accepts.

A logical agent is `<namespace>/<workload>`, or the value of the workload's
`weft.dev/agent` label when it has one; the same name in every cluster it runs in. Its id
is derived from that name only, so the offline `weft analyze` and the live service agree.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

AGENT_LABEL = "weft.dev/agent"          # names the logical agent (a label value: no '/')
DECLARED_LABEL = "weft.dev/declared"    # "true": the owners declare this workload's agent
ID_PREFIX = "ag-"
MAX_LISTED = 20                         # candidates an error message lists


@dataclass(frozen=True, order=True)
class WorkloadRef:
    """One workload in one cluster."""
    cluster: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.cluster}/{self.namespace}/{self.name}"


def host_of(value: str) -> str:
    """The host a URL, `host:port` or DNS name names, lowercase without the final dot;
    anything else (a stdio command, a path) as it is, lowercase."""
    v = value.strip().lower()
    m = _AUTHORITY.match(v)
    return m.group(1).strip("[]").rstrip(".") if m else v


_AUTHORITY = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:[^@/\s]*@)?(\[[0-9a-f:.]+\]|[^:/\s\[\]]+)(?::\d+)?(?:/\S*)?$")


def names_itself(ref: WorkloadRef, host: str) -> bool:
    """Whether a host (from the workload's own traffic) is the workload's own service name."""
    return host == ref.name or host == f"{ref.name}.{ref.namespace}" or host.startswith(f"{ref.name}.{ref.namespace}.")


def named_workload(caller_namespace: str, host: str) -> tuple[str, str] | None:
    """(namespace, workload) a host names in a cluster: `name` (the caller's namespace),
    `name.ns` or `name.ns.svc…`; None for any other name."""
    labels = host.split(".")
    if len(labels) == 1:
        return caller_namespace, labels[0]
    if len(labels) == 2 or labels[2] == "svc":
        return labels[1], labels[0]
    return None


def logical_name(namespace: str, workload: str, labels: Mapping[str, str] | None = None) -> str:
    label = (labels or {}).get(AGENT_LABEL, "").strip()
    return label or f"{namespace}/{workload}"


def agent_id(name: str) -> str:
    """Stable and content-derived: `ag-` and 16 hex digits of the name's SHA-256."""
    return ID_PREFIX + hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]


def short_name(name: str) -> str:
    """What users type: the workload part of `<namespace>/<workload>`, or the label value."""
    return name.rpartition("/")[2]


class AgentLookupError(LookupError):
    """No agent or several agents answer to a name; `candidates` are the names that could."""

    def __init__(self, message: str, candidates: tuple[str, ...]):
        super().__init__(message)
        self.candidates = candidates


def resolve(query: str, known: Iterable[str]) -> str:
    """The id of the one known agent `query` names: its full name or id, its short name,
    or an unambiguous prefix of any of those. Otherwise AgentLookupError listing the
    agents it could mean (ambiguous) or the known agents (unknown)."""
    names = sorted(set(known))
    q = query.strip()
    for rule in (lambda n: q in (n, agent_id(n)),
                 lambda n: q == short_name(n),
                 lambda n: any(x.startswith(q) for x in (n, short_name(n), agent_id(n)))):
        found = [n for n in names if rule(n)] if q else []
        if len(found) == 1:
            return agent_id(found[0])
        if len(found) > 1:
            raise AgentLookupError(f"{query!r} is ambiguous: it could be {_listed(found)}", tuple(found))
    raise AgentLookupError(f"no agent {query!r}; known agents: {_listed(names) or 'none'}", tuple(names))


def _listed(names: list[str]) -> str:
    shown = ", ".join(f"{n} ({agent_id(n)})" for n in names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")
