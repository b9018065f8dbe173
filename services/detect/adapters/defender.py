"""Microsoft Defender for Cloud alerts to OCSF.

Accepted shapes: the SecurityAlert schema of continuous export and workflow automation
(PascalCase: AlertType, SystemAlertId, Entities, ...), the ARM alert resource
({"properties": {"alertType": ...}}, camelCase) and the Log Analytics SecurityAlert
row (AlertName, AlertSeverity, Entities as a JSON string). Continuous export also
carries posture records (assessments, sub-assessments, secure scores, regulatory
compliance): they are recognised and reported as skipped, not converted.
"""
from __future__ import annotations

import json
from typing import Any

from weft.detect.adapters import defender_entities as entities
from weft.detect.adapters.registry import Adapter, register
from weft.detect.core import attack, fields, kubernetes, ocsf, severity
from weft.detect.core.fields import NotAnAlert, RecordInvalid, describe, text
from weft.detect.core.finding import Detection, Product

_ALERT_KEYS = frozenset({"alertdisplayname", "alertname", "entities", "systemalertid", "vendorname", "productname",
               "compromisedentity", "alerturi"})
_STATUS = {"new": ocsf.STATUS_NEW, "active": ocsf.STATUS_NEW, "inprogress": ocsf.STATUS_IN_PROGRESS,
           "resolved": ocsf.STATUS_RESOLVED, "dismissed": ocsf.STATUS_SUPPRESSED}
_CLOSED = {ocsf.STATUS_RESOLVED, ocsf.STATUS_SUPPRESSED}


def lower_keys(record: dict) -> dict[str, Any]:
    return {k.lower(): v for k, v in record.items() if isinstance(k, str)}


@register("defender")
class DefenderAdapter(Adapter):
    source = "DEFENDER"
    title = "Defender for Cloud alert"

    def recognises(self, record: dict) -> bool:
        keys = {k.lower(): k for k in record if isinstance(k, str)}
        kind = record.get(keys.get("type", ""))
        if isinstance(kind, str) and kind.lower().startswith("microsoft.security/"):
            return True
        if ("alerttype" in keys or "alertname" in keys) and not _ALERT_KEYS.isdisjoint(keys):
            return True
        props = record.get(keys.get("properties", ""))
        return isinstance(props, dict) and any(isinstance(k, str) and k.lower() == "alerttype" for k in props)

    def convert(self, record: dict) -> Detection:
        alert, prefix = _alert(record)
        uid = _required(alert, prefix, ("systemalertid", "SystemAlertId"), ("alertid", "AlertId"))
        title = text(alert, "alertdisplayname") or text(alert, "alertname") or text(alert, "alerttype") or uid
        time = _required_time(alert, prefix)
        refs_doc = _parsed(alert.get("entities"))
        refs = entities.References([alert.get("resourceidentifiers"), refs_doc])
        resources, evidences = entities.convert(refs_doc if isinstance(refs_doc, list) else [], refs)
        status_word = str(alert.get("status") or "")
        status_id = _STATUS.get(status_word.lower().replace(" ", ""), ocsf.STATUS_OTHER if status_word
                                else ocsf.STATUS_NEW)
        resource_id = text(alert, "azureresourceid") or text(alert, "resourceid")
        return Detection(
            uid=uid, title=title, desc=text(alert, "description"), time=time,
            severity=severity.from_table(severity.DEFENDER, alert.get("severity") or alert.get("alertseverity")),
            product=Product(self.name, text(alert, "productname") or "Microsoft Defender for Cloud",
                            text(alert, "vendorname") or "Microsoft", text(alert, "productcomponentname")),
            event_code=text(alert, "alerttype") or "", types=[t for t in [text(alert, "alerttype")] if t],
            first_seen=time, last_seen=fields.millis(alert, "endtimeutc"),
            created=fields.millis(alert, "timegeneratedutc") or fields.millis(alert, "timegenerated"),
            modified=fields.millis(alert, "processingendtimeutc") or fields.millis(alert, "processingendtime"),
            activity_id=ocsf.ACTIVITY_CLOSE if status_id in _CLOSED else ocsf.ACTIVITY_CREATE,
            status_id=status_id, status=status_word if status_id == ocsf.STATUS_OTHER else None,
            cloud=_cloud(alert, resource_id, refs),
            resources=[ocsf.resource(uid=resource_id, name=text(alert, "compromisedentity"),
                                     type=entities.arm_type(resource_id), role_id=ocsf.ROLE_TARGET),
                       _cluster(resource_id), *resources],
            evidences=evidences,
            attacks=attack.attacks(_words(alert.get("intent")),
                                   _words(alert.get("techniques")) + _words(alert.get("subtechniques"))),
            remediation=_steps(_parsed(alert.get("remediationsteps"))),
            references=[text(link, "Href") or text(link, "href") for link in fields.items(alert, "extendedlinks")
                        if text(link, "Href") or text(link, "href")],
            src_url=text(alert, "alerturi"),
            raw=record,
        )


def _alert(record: dict) -> tuple[dict, str]:
    """The alert's fields with lower-cased keys, and the JSON pointer they live under."""
    low = lower_keys(record)
    props = low.get("properties")
    if isinstance(props, dict) and "alerttype" in lower_keys(props):
        return {**lower_keys(props), "arm_id": low.get("id")}, "/properties"
    if "alerttype" in low or "alertname" in low or "systemalertid" in low:
        return low, ""
    raise NotAnAlert(f"a {low.get('type') or 'Defender for Cloud'} record is posture data from continuous "
                     "export, not an alert")


def _required(alert: dict, prefix: str, *keys: tuple[str, str]) -> str:
    for key, _ in keys:
        value = alert.get(key)
        if isinstance(value, str) and value.strip():
            return value
    key, spelling = keys[0]
    found = "nothing (missing)" if key not in alert else describe(alert.get(key))
    raise RecordInvalid(f"{prefix}/{spelling}", f"expected the alert id (a non-empty string), found {found}")


_CLUSTER_TYPES = {"microsoft.containerservice/managedclusters", "microsoft.kubernetes/connectedclusters"}


def _cluster(resource_id: str | None) -> dict | None:
    """An alert on an AKS or Arc-enabled cluster is about that Kubernetes cluster."""
    if (entities.arm_type(resource_id) or "").lower() not in _CLUSTER_TYPES:
        return None
    return kubernetes.cluster(resource_id.rstrip("/").rsplit("/", 1)[-1], uid=resource_id, role_id=ocsf.ROLE_TARGET)


def _required_time(alert: dict, prefix: str) -> int:
    for key in ("starttimeutc", "starttime", "timegeneratedutc", "timegenerated"):
        found = fields.millis(alert, key)
        if found is not None:
            return found
    value = alert.get("starttimeutc")
    shown = "nothing (missing)" if "starttimeutc" not in alert else describe(value)
    raise RecordInvalid(f"{prefix}/StartTimeUtc", "expected when the activity started (a timestamp in "
                                                  f"StartTimeUtc or TimeGenerated), found {shown}")


def _steps(value: Any) -> str | None:
    if isinstance(value, list):
        return "\n".join(s for s in value if isinstance(s, str) and s.strip()) or None
    return value if isinstance(value, str) and value.strip() else None


def _parsed(value: Any) -> Any:
    """Log Analytics rows carry Entities as a JSON string."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _words(value: Any) -> list[str]:
    """A list of strings, or a string of comma-separated words ("Persistence, Execution")."""
    if isinstance(value, list):
        return [v.strip() for v in value if isinstance(v, str) and v.strip()]
    if isinstance(value, str):
        return [w.strip() for w in value.split(",") if w.strip()]
    return []


def _cloud(alert: dict, resource_id: str | None, refs: entities.References) -> dict:
    """Azure, with the subscription and tenant; a multicloud connector's alert is about
    its AWS or GCP resource (the asset entity), so it takes that provider."""
    provider = "Azure"
    if resource_id and "/securityconnectors/" in resource_id.lower():
        for raw in _parsed(alert.get("entities")) or ():
            e = refs.get(raw)
            if e.get("asset") is True and str(e.get("type", "")).lower() in ("aws-resource", "amazon-resource"):
                provider = "AWS"
            elif e.get("asset") is True and str(e.get("type", "")).lower() == "gcp-resource":
                provider = "GCP"
    subscription = _segment(resource_id, "subscriptions") or text(alert, "workspacesubscriptionid")
    tenant = None
    for identifier in fields.items(alert, "resourceidentifiers"):
        i = lower_keys(identifier) if isinstance(identifier, dict) else {}
        tenant = tenant or text(i, "azureresourcetenantid") or text(i, "aadtenantid")
    account = ocsf.account(subscription, ocsf.AZURE_SUBSCRIPTION) if provider == "Azure" else None
    return ocsf.cloud(provider, account=account, org=tenant, region=_segment(text(alert, "arm_id"), "locations"))


def _segment(resource_id: str | None, name: str) -> str | None:
    """The value after /<name>/ in an ARM resource id."""
    parts = (resource_id or "").split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() == name:
            return parts[i + 1] or None
    return None
