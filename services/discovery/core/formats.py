"""How each format is recognised by content: one predicate per format, on one record
(envelopes are already opened). Predicates are meant to be disjoint: a record two of
them accept is reported as ambiguous rather than guessed."""
from __future__ import annotations

import re
from typing import Any

from weft.discovery.core.registry import register
from weft.v1 import event_pb2


def lower_keys(record: dict) -> dict[str, Any]:
    """Keys lower-cased: exports re-case fields (Defender's PascalCase, Panther's lowercase)."""
    return {k.lower(): v for k, v in record.items() if isinstance(k, str)}


def arm_properties(record: dict) -> dict:
    """An ARM resource's `properties`, or the record itself in the flattened CLI shape."""
    props = record.get("properties")
    return props if isinstance(props, dict) else record


# --- provider alerts (signals) ------------------------------------------------------

@register("guardduty", kind="signal", provider="aws")
def guardduty(r: dict) -> bool:
    service = r.get("service")
    return (isinstance(service, dict) and isinstance(r.get("type"), str) and "schemaVersion" in r
            and (":guardduty:" in str(r.get("arn", "")) or service.get("serviceName") == "guardduty"))


_DEFENDER_ALERT_FIELDS = {"alertdisplayname", "entities", "systemalertid", "vendorname", "productname",
                          "compromisedentity", "alerturi"}


@register("defender", kind="signal", provider="azure")
def defender(r: dict) -> bool:
    """Alerts (workflow automation, continuous export, ARM) and the other continuous-export
    records (assessments, sub-assessments, secure scores, regulatory compliance)."""
    low = lower_keys(r)
    if str(low.get("type", "")).lower().startswith("microsoft.security/"):
        return True
    if "alerttype" in low and _DEFENDER_ALERT_FIELDS & low.keys():
        return True
    props = low.get("properties")
    return isinstance(props, dict) and "alerttype" in lower_keys(props)


_SCC_FINDING_NAME = re.compile(r"^(organizations|folders|projects)/[^/]+/sources/[^/]+/(locations/[^/]+/)?findings/")


@register("scc", kind="signal", provider="gcp")
def scc(r: dict) -> bool:
    """A notification or listFindings result ({finding, resource}), or a bare finding."""
    finding = r.get("finding")
    if isinstance(finding, dict):
        return "name" in finding or "category" in finding
    return bool(_SCC_FINDING_NAME.match(str(r.get("name", "")))) and "category" in r


@register("falco", kind="signal", provider="falco")
def falco(r: dict) -> bool:
    return all(k in r for k in ("rule", "priority", "output")) and ("output_fields" in r or "time" in r)


@register("tetragon", kind="signal", provider="tetragon")
def tetragon(r: dict) -> bool:
    """Tetragon's JSON export: one `process_*` event per line, with node_name and time."""
    events = [k for k, v in r.items() if isinstance(k, str) and k.startswith("process_") and isinstance(v, dict)]
    return len(events) == 1 and ("node_name" in r or "time" in r)


# --- cloud audit logs -----------------------------------------------------------------

@register("cloudtrail", kind="audit", provider="aws")
def cloudtrail(r: dict) -> bool:
    source = r.get("eventSource")
    return (isinstance(source, str) and source.endswith(".amazonaws.com") and "eventName" in r
            and ("eventTime" in r or "eventVersion" in r))


# AuditLogs' own categories (ApplicationManagement, ...) appear when a record is exported
# per entry; "Policy" is left out: Azure's activity log uses it too.
_ENTRA_CATEGORIES = {
    "signinlogs", "noninteractiveusersigninlogs", "serviceprincipalsigninlogs", "managedidentitysigninlogs",
    "adfssigninlogs", "auditlogs", "provisioninglogs", "riskyusers", "userriskevents", "riskyserviceprincipals",
    "serviceprincipalriskevents", "microsoftgraphactivitylogs", "applicationmanagement", "usermanagement",
    "groupmanagement", "rolemanagement", "directorymanagement", "entitlementmanagement", "keymanagement"}


@register("entra", kind="audit", provider="azure")
def entra(r: dict) -> bool:
    low = lower_keys(r)
    if "operationname" not in low:
        return False
    return (str(low.get("category", "")).lower() in _ENTRA_CATEGORIES
            or "/providers/microsoft.aadiam" in str(low.get("resourceid", "")).lower())


_AUDIT_LOG_TYPE = "type.googleapis.com/google.cloud.audit.AuditLog"


@register("gcp_audit", kind="audit", provider="gcp")
def gcp_audit(r: dict) -> bool:
    payload = r.get("protoPayload")
    if not isinstance(payload, dict):
        return False
    # Panther's exports rename "@type" to "at_sign_type" and lower-case logName.
    if _AUDIT_LOG_TYPE in (payload.get("@type"), payload.get("at_sign_type")):
        return True
    if "cloudaudit.googleapis.com" in str(lower_keys(r).get("logname", "")):
        return True
    return "methodName" in payload and ("authenticationInfo" in payload or "serviceName" in payload)


# --- runtime events -----------------------------------------------------------------

_EVENT_KINDS = frozenset(event_pb2.RuntimeEvent.Kind.keys()) - {"KIND_UNSPECIFIED"}


@register("weft_event", kind="event")
def weft_event(r: dict) -> bool:
    return r.get("kind") in _EVENT_KINDS and ("eventId" in r or "event_id" in r)
