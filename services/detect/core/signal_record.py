"""A signal as correlation keeps it: the facts of one alert (`signals.signal_facts`), its
ATT&CK and ATLAS references, the data stores it names, the endpoints it saw traffic go
to and, for weft's own detections, the runtime events behind it. Plain values only, so
that correlation state is JSON and a restart of detect loses nothing.

    signal = Signal.from_ocsf(finding, event_ids=alert.event_ids)
    Signal.from_dict(signal.to_dict()) == signal
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields

from weft.detect.core import attack, kubernetes
from weft.detect.core.signals import signal_facts

# resources that hold data (by OCSF type or name): what a story lists as data accessed
_DATA_WORDS = re.compile(r"storage|bucket|blob|s3|database|\bdb\b|dbinstance|table|dataset|bigquery|sql|cosmos|"
                         r"file ?share|secret|key ?vault|datalake", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Endpoint:
    ip: str = ""
    host: str = ""
    port: int = 0


@dataclass(frozen=True, order=True)
class DataStore:
    resource: str                       # the resource's uid, or its name when it has none
    kind: str                           # its OCSF type ("Microsoft.Storage/storageAccounts", "AWS::S3::Bucket")


@dataclass(frozen=True)
class Signal:
    id: str                             # the source's own id, or weft's content-derived alert id
    source: str                         # GUARDDUTY, DEFENDER, SCC, FALCO, TETRAGON, WEFT
    time_ms: int                        # when the activity happened (event time)
    modified_ms: int                    # the source's last update of it (a re-sent alert may be newer)
    severity_id: int                    # OCSF severity_id
    title: str
    event_code: str                     # finding type, alert type, category, rule id
    provider: str                       # AWS, AZURE, GCP or ""
    account: str
    cluster: str
    pods: tuple[tuple[str, str], ...] = ()                  # (namespace, name)
    workloads: tuple[tuple[str, str, str], ...] = ()        # (kind, namespace, name)
    service_accounts: tuple[tuple[str, str], ...] = ()      # (namespace, name)
    processes: tuple[str, ...] = ()
    host: str = ""                                          # the node (device hostname) the processes ran on
    pids: tuple[int, ...] = ()                              # their pids, then their parents' (host pid space)
    ips: tuple[str, ...] = ()
    principals: tuple[str, ...] = ()
    tactics: tuple[str, ...] = ()                           # ATT&CK tactic names ("Exfiltration")
    techniques: tuple[tuple[str, str], ...] = ()            # (uid, name): T1530, AML.T0051, ...
    data: tuple[DataStore, ...] = ()
    destinations: tuple[Endpoint, ...] = ()
    event_ids: tuple[str, ...] = ()
    detail: str = ""                                        # weft's own: the behaviour, e.g. "mcp <server> <tool>"

    @classmethod
    def from_ocsf(cls, finding: dict, event_ids: tuple[str, ...] | list[str] = ()) -> Signal:
        f = signal_facts(finding)
        info = finding.get("finding_info") or {}
        tactics, techniques = _attacks(info.get("attacks") or ())
        return cls(
            id=f.signal_id, source=f.source, time_ms=f.time_ms,
            modified_ms=int(info.get("modified_time") or info.get("last_seen_time") or f.time_ms),
            severity_id=f.severity_id, title=f.title, event_code=f.event_code, provider=f.provider,
            account=f.account, cluster=f.cluster,
            pods=_unique((p.namespace, p.name) for p in f.pods),
            workloads=_unique((w.kind, w.namespace, w.name) for w in f.workloads),
            service_accounts=_unique((s.namespace, s.name) for s in f.service_accounts),
            processes=f.processes, host=str((finding.get("device") or {}).get("hostname") or ""),
            pids=_pids(finding), ips=f.ips, principals=f.principals,
            tactics=tactics, techniques=techniques,
            data=_unique(_data_stores(finding.get("resources") or ())),
            destinations=_unique(_destinations(finding.get("evidences") or ())),
            event_ids=tuple(event_ids) or _event_ids(finding),
            detail=_detail(finding),
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Signal:
        values = {}
        for f in fields(cls):
            value = data.get(f.name, f.default)
            if f.name == "data":
                value = tuple(DataStore(**x) for x in value)
            elif f.name == "destinations":
                value = tuple(Endpoint(**x) for x in value)
            elif isinstance(value, list):
                value = tuple(tuple(x) if isinstance(x, list) else x for x in value)
            values[f.name] = value
        return cls(**values)


def _detail(finding: dict) -> str:
    unmapped = finding.get("unmapped")
    return str(unmapped.get("detail") or "") if isinstance(unmapped, dict) else ""


def _attacks(found) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    tactics: list[str] = []
    techniques: list[tuple[str, str]] = []
    for a in found:
        for t in [a.get("tactic"), *(a.get("tactics") or ())]:
            known = attack.tactic(str(t.get("uid") or t.get("name") or "")) if isinstance(t, dict) else None
            if known:
                tactics.append(known["name"])
        for t in (a.get("technique"), a.get("sub_technique")):
            if isinstance(t, dict) and (t.get("uid") or t.get("name")):
                techniques.append((str(t.get("uid") or ""), str(t.get("name") or "")))
    return _unique(tactics), _unique(techniques)


def _data_stores(resources) -> list[DataStore]:
    out = []
    for r in resources:
        kind = str(r.get("type") or "")
        name = str(r.get("uid") or r.get("name") or "")
        if name and not kind.startswith(kubernetes.TYPE_PREFIX) and _DATA_WORDS.search(f"{kind} {name}"):
            out.append(DataStore(name, kind))
    return out


def _destinations(evidences) -> list[Endpoint]:
    out = []
    for e in evidences:
        dst = e.get("dst_endpoint") or {}
        ip, host = str(dst.get("ip") or ""), str(dst.get("hostname") or dst.get("domain") or "")
        if ip or host:
            out.append(Endpoint(ip, host, int(dst.get("port") or 0)))
    return out


def _pids(finding: dict) -> tuple[int, ...]:
    """Process ids the finding names, the processes' own first, then their parents'."""
    holders = [finding.get("actor") or {}, *(finding.get("evidences") or ())]
    processes = [h.get("process") or (h.get("actor") or {}).get("process") or {} for h in holders]
    own = [p.get("pid") for p in processes]
    parents = [(p.get("parent_process") or {}).get("pid") for p in processes]
    return _unique(int(x) for x in [*own, *parents] if isinstance(x, int) and x > 0)


def _event_ids(finding: dict) -> tuple[str, ...]:
    """weft's own detections name their runtime events as evidence uids."""
    if str(((finding.get("metadata") or {}).get("product") or {}).get("uid", "")).upper() != "WEFT":
        return ()
    return _unique(str(e["uid"]) for e in finding.get("evidences") or () if e.get("uid"))


def _unique(values) -> tuple:
    return tuple(dict.fromkeys(v for v in values if v))
