"""One alert as plain data (`Detection`), and the OCSF Detection Finding (class 2004)
built from it. Adapters fill a Detection from their vendor's record; everything that
is the same for every vendor (class, type, profiles, observables, the original record)
is done here once."""
from __future__ import annotations

import hashlib
import json

import orjson
from dataclasses import dataclass, field

from weft.detect.core import ocsf
from weft.detect.core.observables import observables
from weft.detect.core.severity import Severity


@dataclass(frozen=True)
class Product:
    """The product that raised the alert. `source` is the adapter's name ("guardduty"),
    written to metadata.product.uid so a reader can tell the source without the vendor."""
    source: str
    name: str
    vendor: str
    feature: str | None = None


@dataclass
class Detection:
    uid: str | None                # the source's own id; None: derived from the record's content
    title: str
    time: int                      # when the activity happened, epoch milliseconds
    severity: Severity
    product: Product
    event_code: str = ""           # the vendor's finding type, alert type, category or rule
    desc: str | None = None
    uid_alt: str | None = None     # a second id (an ARN, a canonical name)
    types: list[str] = field(default_factory=list)
    first_seen: int | None = None
    last_seen: int | None = None
    created: int | None = None
    modified: int | None = None
    activity_id: int = ocsf.ACTIVITY_CREATE
    status_id: int = ocsf.STATUS_NEW
    status: str | None = None      # the vendor's word, when status_id is Other
    count: int | None = None
    cloud: dict | None = None
    actor: dict | None = None
    device: dict | None = None
    resources: list[dict | None] = field(default_factory=list)
    evidences: list[dict | None] = field(default_factory=list)
    attacks: list[dict] = field(default_factory=list)
    analytic: dict | None = None
    remediation: str | None = None
    references: list[str] = field(default_factory=list)
    src_url: str | None = None
    confidence_score: int | None = None
    raw: dict = field(default_factory=dict)
    detail: str = ""               # weft's own: the behaviour it saw, in a line (OCSF `unmapped`)


def raw_json(record: dict) -> str:
    """The original record as compact JSON with sorted keys: the same content always
    gives the same text, so content-derived ids can hash it. orjson writes it ten times
    faster than json; json takes the integers orjson refuses (beyond 64 bits)."""
    try:
        return orjson.dumps(record, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_id(raw: str) -> str:
    """An id for an alert whose source gives none: the same record always gets the same id."""
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def to_ocsf(d: Detection, raw: str | None = None) -> dict:
    """The OCSF Detection Finding for `d`; `raw` is raw_json(d.raw) when already made."""
    if raw is None:
        raw = raw_json(d.raw)
    finding_info = ocsf.compact(
        uid=d.uid or content_id(raw), uid_alt=d.uid_alt, title=d.title, desc=d.desc, types=d.types,
        created_time=d.created, modified_time=d.modified, first_seen_time=d.first_seen,
        last_seen_time=d.last_seen, analytic=d.analytic, attacks=d.attacks, src_url=d.src_url)
    finding = ocsf.compact(
        class_uid=ocsf.DETECTION_FINDING, class_name="Detection Finding",
        category_uid=ocsf.FINDINGS_CATEGORY, category_name="Findings",
        activity_id=d.activity_id, activity_name=ocsf.ACTIVITY_CAPTIONS.get(d.activity_id),
        type_uid=ocsf.DETECTION_FINDING * 100 + d.activity_id,
        severity_id=d.severity.id, severity=d.severity.label,
        status_id=d.status_id, status=d.status or ocsf.STATUS_CAPTIONS.get(d.status_id),
        time=d.time, start_time=d.first_seen, end_time=d.last_seen, count=d.count,
        message=d.title, is_alert=True, confidence_score=d.confidence_score,
        finding_info=finding_info,
        cloud=d.cloud, actor=d.actor, device=d.device,
        resources=_distinct_resources(d.resources),
        evidences=[e for e in d.evidences if e],
        remediation=ocsf.compact(desc=d.remediation, references=d.references) if d.remediation else None,
    )
    finding["metadata"] = ocsf.compact(
        version=ocsf.OCSF_VERSION,
        product=ocsf.compact(uid=d.product.source, name=d.product.name, vendor_name=d.product.vendor,
                             feature=ocsf.compact(name=d.product.feature) or None),
        event_code=d.event_code, profiles=profiles(finding))
    finding["observables"] = observables(finding)
    if not finding["observables"]:
        del finding["observables"]
    finding["raw_data"] = raw
    if d.detail:
        finding["unmapped"] = {"detail": d.detail}
    return finding


def _distinct_resources(found: list[dict | None]) -> list[dict]:
    """One entry per resource: the first one given (adapters list targets first) wins."""
    seen: set[tuple] = set()
    out = []
    for r in found:
        if r:
            key = (r.get("type"), r.get("uid") or r.get("name"), r.get("namespace"))
            if key not in seen:
                seen.add(key)
                out.append(r)
    return out


def profiles(finding: dict) -> list[str]:
    """The OCSF profiles whose attributes the finding uses (validation follows them)."""
    used = []
    if "cloud" in finding:
        used.append("cloud")
    if "actor" in finding:      # a finding's actor comes with the host profile
        used.append("host")
    if any(_uses_container_profile(e) for e in finding.get("evidences", ())) or \
            _uses_container_profile(finding.get("actor", {})):
        used.append("container")
    return used


def _uses_container_profile(holder: dict) -> bool:
    """process.container and process.namespace_pid belong to the container profile."""
    for process in (holder.get("process"), (holder.get("actor") or {}).get("process")):
        while process:
            if "container" in process or "namespace_pid" in process:
                return True
            process = process.get("parent_process")
    return False
