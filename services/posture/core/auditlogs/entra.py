"""Entra ID logs as diagnostic settings export them ({time, category, operationName,
properties: {...}}): sign-ins of service principals, managed identities and users,
and directory audit entries. Exports re-case keys (Panther lower-cases the envelope),
so keys are read case-insensitively. Other categories carry nothing posture uses."""
from __future__ import annotations

from typing import Any

from weft.discovery.core.formats import lower_keys
from weft.posture.core.auditlogs.model import AzureDirectoryChange, AzureSignIn
from weft.posture.core.model import Cloud, Observation, Source
from weft.posture.core.parsers import Parsed, parser
from weft.posture.core.schema import check
from weft.posture.core.times import first_time
from weft.posture.core.values import string

SIGN_INS = {"signinlogs", "noninteractiveusersigninlogs", "serviceprincipalsigninlogs",
            "managedidentitysigninlogs", "adfssigninlogs"}
DIRECTORY_AUDITS = {"auditlogs", "applicationmanagement", "usermanagement", "groupmanagement",
                    "rolemanagement", "directorymanagement", "entitlementmanagement", "keymanagement"}
SCHEMA = {"type": "object", "required": ["properties"],
          "properties": {"properties": {"type": "object", "description": "the entry's properties (an object)"}}}


@parser("entra")
def parse(record: dict, at: Source) -> Parsed:
    top = lower_keys(record)
    category = string(top.get("category"))
    if category.lower() not in SIGN_INS | DIRECTORY_AUDITS:
        return [], []
    if errors := check(record, SCHEMA, at):
        return [], errors
    props = lower_keys(record["properties"])
    sign_in = category.lower() in SIGN_INS
    time = first_time(props.get("createddatetime") if sign_in else props.get("activitydatetime"), top.get("time"))
    if time is None:
        return [], [at.error("/time", "a timestamp (time, or properties.createdDateTime / activityDateTime)",
                             "nothing")]
    common: dict[str, Any] = dict(source=at, time=time, cloud=Cloud.AZURE, event_id=string(props.get("id")))
    item: Observation = (sign_in_of(category, top, props, common) if sign_in
                         else directory_change(category, top, props, common))
    return [item], []


def sign_in_of(category: str, top: dict, props: dict, common: dict[str, Any]) -> AzureSignIn:
    status = lower_keys(props.get("status") or {})
    code = _int(status.get("errorcode"), _int(top.get("resulttype"), 0))
    msi = lower_keys(props.get("managedserviceidentity") or {})
    msi_type = _meaningful(props.get("managedidentitytype")) or _meaningful(msi.get("msitype"))
    credential = _meaningful(props.get("clientcredentialtype"))
    return AzureSignIn(
        **common, success=code == 0, source_ip=string(props.get("ipaddress") or top.get("calleripaddress")),
        user_agent=string(props.get("useragent")), category=category, app_id=string(props.get("appid")),
        service_principal_id=string(props.get("serviceprincipalid")),
        service_principal_name=string(props.get("serviceprincipalname")),
        managed_identity=(category.lower() == "managedidentitysigninlogs" or bool(msi_type)
                          or credential == "managedIdentity"),
        managed_identity_type=msi_type, credential_type=credential,
        federated_credential_id=string(props.get("federatedcredentialid")),
        resource_id=string(props.get("resourceid")), resource_name=string(props.get("resourcedisplayname")),
        resource_service_principal_id=string(props.get("resourceserviceprincipalid")),
        user=string(props.get("userprincipalname")), tenant_id=string(top.get("tenantid")), status_code=code,
        failure_reason=string(status.get("failurereason") or top.get("resultdescription")))


def directory_change(category: str, top: dict, props: dict, common: dict[str, Any]) -> AzureDirectoryChange:
    initiator = lower_keys(props.get("initiatedby") or {})
    user, app = lower_keys(initiator.get("user") or {}), lower_keys(initiator.get("app") or {})
    targets = tuple(f"{string(t.get('type'))}:{string(t.get('id'))} ({string(t.get('displayName'))})"
                    for t in props.get("targetresources") or [] if isinstance(t, dict))
    result = string(props.get("result") or top.get("resulttype")).lower()
    return AzureDirectoryChange(
        **common, success=result in ("success", "0"),
        source_ip=string(user.get("ipaddress") or top.get("calleripaddress")),
        category=category, operation=string(props.get("activitydisplayname") or top.get("operationname")),
        initiated_by=string(user.get("userprincipalname") or app.get("serviceprincipalid") or app.get("displayname")),
        targets=targets)


def _int(value: object, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default


def _meaningful(value: object) -> str:
    """A log's enum value, or "" for its 'none' placeholder."""
    text = string(value)
    return "" if text.lower() in ("", "none") else text
