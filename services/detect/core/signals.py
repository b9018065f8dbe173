"""What correlation needs from a finding, read back from the OCSF dict alone: no field
here depends on which vendor raised the alert.

    facts = signal_facts(finding)
    facts.source, facts.signal_id, facts.cluster, facts.pods, facts.ips, facts.principals
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator

from weft.detect.core import kubernetes, observables
from weft.detect.core.kubernetes import K8sObject

PROVIDERS = {"aws": "AWS", "azure": "AZURE", "gcp": "GCP"}   # the names of weft.v1.Node.Provider


@dataclass(frozen=True)
class SignalFacts:
    signal_id: str                      # finding_info.uid: the source's own id, or content-derived
    source: str                         # GUARDDUTY, DEFENDER, SCC, FALCO, TETRAGON
    time_ms: int                        # when the activity happened
    severity_id: int
    title: str
    event_code: str                     # the vendor's finding type / alert type / category / rule
    provider: str                       # AWS, AZURE, GCP, or "" when the finding names no cloud
    account: str                        # AWS account, Azure subscription, GCP project
    cluster: str                        # "" when unknown
    kubernetes: tuple[K8sObject, ...]
    processes: tuple[str, ...]          # executable paths, else process names
    ips: tuple[str, ...]
    ports: tuple[int, ...]
    domains: tuple[str, ...]
    principals: tuple[str, ...]         # ARNs and principal ids, Azure object/app ids, GCP emails, k8s users

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.time_ms / 1000, tz=timezone.utc)

    def _of(self, kind: str) -> tuple[K8sObject, ...]:
        return tuple(o for o in self.kubernetes if o.kind == kind)

    @property
    def namespaces(self) -> tuple[str, ...]:
        return _unique(o.namespace or (o.name if o.kind == kubernetes.NAMESPACE else "") for o in self.kubernetes)

    @property
    def pods(self) -> tuple[K8sObject, ...]:
        return self._of(kubernetes.POD)

    @property
    def workloads(self) -> tuple[K8sObject, ...]:
        return tuple(o for o in self.kubernetes if o.is_workload)

    @property
    def service_accounts(self) -> tuple[K8sObject, ...]:
        return self._of(kubernetes.SERVICE_ACCOUNT)


def signal_facts(finding: dict) -> SignalFacts:
    info = finding.get("finding_info") or {}
    metadata = finding.get("metadata") or {}
    cloud = finding.get("cloud") or {}
    objects = tuple(o for o in map(kubernetes.read, finding.get("resources", ())) if o)
    clusters = [o.name for o in objects if o.kind == kubernetes.CLUSTER]
    found = finding.get("observables", ())
    return SignalFacts(
        signal_id=str(info.get("uid", "")),
        source=str((metadata.get("product") or {}).get("uid", "")).upper(),
        time_ms=int(finding.get("time", 0)),
        severity_id=int(finding.get("severity_id", 0)),
        title=str(info.get("title", "")),
        event_code=str(metadata.get("event_code", "")),
        provider=PROVIDERS.get(str(cloud.get("provider", "")).lower(), ""),
        account=str((cloud.get("account") or {}).get("uid") or cloud.get("project_uid") or ""),
        cluster=clusters[0] if clusters else "",
        kubernetes=objects,
        processes=_unique(_processes(finding)),
        ips=_unique(o["value"] for o in found if o.get("type_id") == observables.IP),
        ports=tuple(int(p) for p in _unique(o["value"] for o in found if o.get("type_id") == observables.PORT)),
        domains=_unique(o["value"] for o in found if o.get("type_id") == observables.HOSTNAME
                        and not o.get("name", "").startswith("device.")),
        principals=_unique(_principals(finding)),
    )


def _actors(finding: dict) -> Iterator[dict]:
    if isinstance(finding.get("actor"), dict):
        yield finding["actor"]
    for e in finding.get("evidences", ()):
        if isinstance(e.get("actor"), dict):
            yield e["actor"]


def _principals(finding: dict) -> Iterator[str]:
    for actor in _actors(finding):
        user = actor.get("user") or {}
        yield from (user.get("uid"), user.get("email_addr"), user.get("name") if not user.get("uid") else None,
                    (actor.get("session") or {}).get("issuer"), actor.get("app_uid"))
    for e in finding.get("evidences", ()):
        user = e.get("user") or {}
        yield from (user.get("uid"), user.get("email_addr"))


def _processes(finding: dict) -> Iterator[str]:
    holders = [*_actors(finding), *finding.get("evidences", ())]
    for holder in holders:
        process = holder.get("process") or {}
        yield (process.get("file") or {}).get("path") or process.get("name")


def _unique(values) -> tuple:
    return tuple(dict.fromkeys(v for v in values if v not in (None, "")))
