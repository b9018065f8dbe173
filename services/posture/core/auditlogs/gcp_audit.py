"""GCP Cloud Audit Logs entries (LogEntry with an AuditLog protoPayload): STS
ExchangeToken (Workload Identity Federation), IAM Credentials token mints
(GenerateAccessToken and friends, which are also API calls on the service account),
and every other call as an ApiCall whose actions are the permissions the log says
were checked (authorizationInfo[].permission). Without authorizationInfo, a method
named like a permission (SERVICE.RESOURCE.VERB, as Cloud Storage's "storage.objects.get"
or Compute's "v1.compute.instances.start") is taken as its permission; other methods
("google.iam.admin.v1.CreateServiceAccount") give none. Panther's exports re-case some
keys (callerIP, at_sign_type, lower-case envelope keys); both spellings are read."""
from __future__ import annotations

import re
from typing import Any

from weft.discovery.core.formats import lower_keys
from weft.posture.core.auditlogs.model import ApiCall, GcpAccessTokenMint, GcpTokenExchange
from weft.posture.core.declarations.gcp_members import parse_member
from weft.posture.core.model import Cloud, Observation, Source
from weft.posture.core.parsers import Parsed, parser
from weft.posture.core.schema import check
from weft.posture.core.times import first_time
from weft.posture.core.values import dig, obj, string

TOKEN_MINTS = {"GenerateAccessToken", "GenerateIdToken", "SignJwt", "SignBlob"}
_PROVIDER = re.compile(r"(?:projects/(?P<project>[^/]+)/)?locations/[^/]+/(?:workloadIdentityPools|workforcePools)"
                       r"/(?P<pool>[^/]+)/providers/(?P<provider>[^/]+)")
_SERVICE_ACCOUNT = re.compile(r"^projects/[^/]+/serviceAccounts/(?P<account>.+)$")
_PERMISSION_LIKE = re.compile(r"^(?:v1\.|beta\.|alpha\.)?(?P<permission>[a-z][a-z0-9]*\.[a-zA-Z0-9]+\.[a-zA-Z0-9]+)$")
SCHEMA = {
    "type": "object", "required": ["protoPayload"],
    "properties": {"protoPayload": {
        "type": "object", "description": "an AuditLog payload", "required": ["methodName"],
        "properties": {"methodName": {"type": "string", "minLength": 1, "description": "a method name (a string)"},
                       "serviceName": {"type": "string", "description": "a service name (a string)"}}}},
}


@parser("gcp_audit")
def parse(record: dict, at: Source) -> Parsed:
    if errors := check(record, SCHEMA, at):
        return [], errors
    entry, payload = lower_keys(record), record["protoPayload"]
    metadata = obj(payload.get("requestMetadata"))
    time = first_time(entry.get("timestamp"), dig(metadata, "requestAttributes", "time"),
                      entry.get("receivetimestamp"), payload.get("timestamp"))
    if time is None:
        return [], [at.error("/timestamp", "a timestamp (RFC 3339, as 2024-01-15T10:30:00Z)", "nothing")]
    code = status_code(payload)
    common: dict[str, Any] = dict(
        source=at, time=time, cloud=Cloud.GCP, success=code == 0, status_code=code,
        source_ip=string(metadata.get("callerIp") or metadata.get("callerIP")),
        user_agent=string(metadata.get("callerSuppliedUserAgent")), event_id=string(entry.get("insertid")))
    method = payload["methodName"]
    if method.endswith("SecurityTokenService.ExchangeToken"):
        return [token_exchange(payload, common)], []
    items: list[Observation] = []
    if method.rsplit(".", 1)[-1] in TOKEN_MINTS and service(payload) == "iamcredentials.googleapis.com":
        items.append(token_mint(entry, payload, common))
    common.pop("status_code")
    items.append(api_call(entry, payload, common, code))
    return items, []


def token_exchange(payload: dict, common: dict[str, Any]) -> GcpTokenExchange:
    request, metadata = obj(payload.get("request")), obj(payload.get("metadata"))
    audience = string(request.get("audience"))
    provider = string(payload.get("resourceName")) or audience.removeprefix("//iam.googleapis.com/")
    parts = _PROVIDER.search(provider)
    mapped = string(metadata.get("mapped_principal") or metadata.get("mappedPrincipal"))
    return GcpTokenExchange(
        **common, provider=provider, project_number=(parts["project"] or "") if parts else "",
        pool=parts["pool"] if parts else "", provider_id=parts["provider"] if parts else "",
        subject=string(dig(payload, "authenticationInfo", "principalSubject")),
        principal=parse_member(mapped) if mapped else None, audience=audience,
        subject_token_type=string(request.get("subjectTokenType")))


def token_mint(entry: dict, payload: dict, common: dict[str, Any]) -> GcpAccessTokenMint:
    caller = principal(payload)
    target = _SERVICE_ACCOUNT.match(string(dig(payload, "request", "name")))
    return GcpAccessTokenMint(
        **common, method=payload["methodName"].rsplit(".", 1)[-1], caller=caller,
        caller_member=parse_member(caller) if caller else None,
        service_account=target["account"] if target else string(dig(entry, "resource", "labels", "email_id")),
        delegation_chain=tuple(string(x) for x in dig(payload, "metadata", "identityDelegationChain") or []))


def api_call(entry: dict, payload: dict, common: dict[str, Any], code: int) -> ApiCall:
    checks = [c for c in payload.get("authorizationInfo") or [] if isinstance(c, dict)]
    resources = [string(payload.get("resourceName"))] + [string(c.get("resource")) for c in checks]
    return ApiCall(
        **common, principal=principal(payload), service=service(payload), operation=payload["methodName"],
        actions=permissions(payload["methodName"], checks),
        resources=tuple(dict.fromkeys(r for r in resources if r)),
        account=string(dig(entry, "resource", "labels", "project_id")), error_code=str(code) if code else "")


def permissions(method: str, checks: list[dict]) -> tuple[str, ...]:
    checked = tuple(dict.fromkeys(string(c.get("permission")) for c in checks if c.get("permission")))
    if checked:
        return checked
    return (match["permission"],) if (match := _PERMISSION_LIKE.match(method)) else ()


def principal(payload: dict) -> str:
    info = obj(payload.get("authenticationInfo"))
    return string(info.get("principalEmail") or info.get("principalSubject"))


def service(payload: dict) -> str:
    """serviceName; GKE audit entries exported without it are k8s.io's."""
    name = string(payload.get("serviceName"))
    return name or ("k8s.io" if payload["methodName"].startswith("io.k8s.") else "")


def status_code(payload: dict) -> int:
    code = obj(payload.get("status")).get("code", 0)
    return code if isinstance(code, int) else 0
