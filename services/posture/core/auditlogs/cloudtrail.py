"""CloudTrail records: role sessions started through STS (IRSA's
AssumeRoleWithWebIdentity, Pod Identity's AssumeRole with session tags, service and
chained AssumeRole, SAML) and the API calls IAM principals made, with the IAM action
each needed. A record can be both: an AssumeRole made by a role session is that
session's sts:AssumeRole call too."""
from __future__ import annotations

from typing import Any

from weft.posture.core.auditlogs.aws_actions import iam_actions
from weft.posture.core.auditlogs.model import ApiCall, AssumptionMethod, RoleAssumption
from weft.posture.core.identifiers import role_of_session
from weft.posture.core.model import Cloud, KubernetesSubject, Observation, Source
from weft.posture.core.parsers import Parsed, parser
from weft.posture.core.schema import check, found
from weft.posture.core.times import parse_time
from weft.posture.core.values import dig, obj, string

POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"
_CALLERS = {"AssumedRole", "IAMUser", "Root", "AWSAccount", "FederatedUser"}
_NOT_API_CALLS = {"AwsServiceEvent", "AwsConsoleSignIn"}
_NULLABLE_OBJECT = {"type": ["object", "null"], "description": "an object (or null)"}
SCHEMA = {
    "type": "object", "description": "a CloudTrail record",
    "required": ["eventSource", "eventName", "eventTime"],
    "properties": {
        "eventSource": {"type": "string", "minLength": 1, "description": "a service endpoint (SERVICE.amazonaws.com)"},
        "eventName": {"type": "string", "minLength": 1, "description": "an API operation name (a non-empty string)"},
        "eventTime": {"type": "string", "description": "a timestamp (RFC 3339, as 2024-01-15T10:30:00Z)"},
        "userIdentity": {"type": "object", "description": "a userIdentity object"},
        "requestParameters": _NULLABLE_OBJECT, "responseElements": _NULLABLE_OBJECT,
        "errorCode": {"type": "string", "description": "an error code (a string)"},
    },
}


@parser("cloudtrail")
def parse(record: dict, at: Source) -> Parsed:
    if errors := check(record, SCHEMA, at):
        return [], errors
    if (time := parse_time(record["eventTime"])) is None:
        return [], [at.error("/eventTime", "a timestamp (RFC 3339, as 2024-01-15T10:30:00Z)",
                             found(record["eventTime"]))]
    common: dict[str, Any] = dict(
        source=at, time=time, cloud=Cloud.AWS, success=not record.get("errorCode"),
        source_ip=string(record.get("sourceIPAddress")), user_agent=string(record.get("userAgent")),
        event_id=string(record.get("eventID")))
    items: list[Observation] = []
    if record["eventSource"] == "sts.amazonaws.com" and (assumption := role_assumption(record, common)):
        items.append(assumption)
    if call := api_call(record, common):
        items.append(call)
    return items, []


def role_assumption(record: dict, common: dict[str, Any]) -> RoleAssumption | None:
    if record["eventName"] not in ("AssumeRole", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"):
        return None
    request, response = obj(record.get("requestParameters")), obj(record.get("responseElements"))
    tags = session_tags(request)
    fields: dict[str, Any] = dict(
        role_arn=string(request.get("roleArn")), session_name=string(request.get("roleSessionName")),
        session_arn=string(dig(response, "assumedRoleUser", "arn")),
        access_key_id=string(dig(response, "credentials", "accessKeyId")), session_tags=tags,
        source_identity=string(request.get("sourceIdentity") or response.get("sourceIdentity")),
        account=string(record.get("recipientAccountId")), error_code=string(record.get("errorCode")),
        kubernetes=_tagged_subject(tags), pod_name=tags.get("kubernetes-pod-name", ""))
    fields.update(how_started(record, obj(record.get("userIdentity")), request, response))
    return RoleAssumption(**common, **fields)


def how_started(record: dict, identity: dict, request: dict, response: dict) -> dict[str, Any]:
    """The assumption's method, caller and what the caller's identity says about it."""
    name = record["eventName"]
    if name == "AssumeRoleWithWebIdentity":
        provider = string(identity.get("identityProvider") or response.get("provider"))
        subject = string(response.get("subjectFromWebIdentityToken") or identity.get("userName"))
        found = {"caller": subject, "identity_provider": provider, "audience": string(response.get("audience"))}
        if kubernetes := KubernetesSubject.from_sub(subject):
            found["kubernetes"] = kubernetes
        irsa = kubernetes is not None and "oidc.eks." in provider
        return {**found, "method": AssumptionMethod.IRSA if irsa else AssumptionMethod.WEB_IDENTITY}
    if name == "AssumeRoleWithSAML":
        return {"method": AssumptionMethod.SAML, "caller": string(identity.get("userName")),
                "identity_provider": string(identity.get("identityProvider") or request.get("principalArn"))}
    if identity.get("invokedBy") == POD_IDENTITY_SERVICE:
        return {"method": AssumptionMethod.POD_IDENTITY, "caller": POD_IDENTITY_SERVICE}
    if identity.get("type") == "AWSService":
        return {"method": AssumptionMethod.AWS_SERVICE, "caller": string(identity.get("invokedBy"))}
    return {"method": AssumptionMethod.ROLE, "caller": string(identity.get("arn") or identity.get("principalId"))}


def api_call(record: dict, common: dict[str, Any]) -> ApiCall | None:
    identity = obj(record.get("userIdentity"))
    if identity.get("type") not in _CALLERS or record.get("eventType") in _NOT_API_CALLS:
        return None
    arn = string(identity.get("arn"))
    issuer = obj(dig(identity, "sessionContext", "sessionIssuer"))
    role_arn = string(issuer.get("arn")) if issuer.get("type") == "Role" else role_of_session(arn)
    source, name = record["eventSource"], record["eventName"]
    return ApiCall(
        **common, principal=arn or string(identity.get("principalId")) or string(identity.get("accountId")),
        service=source, operation=name, actions=iam_actions(source, name), resources=resources(record),
        role_arn=role_arn or role_of_session(arn), access_key_id=string(identity.get("accessKeyId")),
        federated_provider=string(dig(identity, "sessionContext", "webIdFederationData", "federatedProvider")),
        account=string(record.get("recipientAccountId") or identity.get("accountId")),
        error_code=string(record.get("errorCode")))


def session_tags(request: dict) -> dict[str, str]:
    """Tags passed to STS: `tags` (AssumeRole), `principalTags` (web identity) and the
    transitive tags a chained session inherits (`incomingTransitiveTags`)."""
    tags = {string(k): string(v) for k, v in obj(request.get("incomingTransitiveTags")).items()}
    tags.update({string(k): string(v) for k, v in obj(request.get("principalTags")).items()})
    for tag in request.get("tags") or []:
        if isinstance(tag, dict) and "key" in tag:
            tags[string(tag["key"])] = string(tag.get("value"))
    return tags


def resources(record: dict) -> tuple[str, ...]:
    """ARNs the record names; for S3 calls without them, the bucket/object ARN."""
    arns = tuple(string(r.get("ARN") or r.get("arn")) for r in record.get("resources") or []
                 if isinstance(r, dict) and (r.get("ARN") or r.get("arn")))
    if arns or record["eventSource"] != "s3.amazonaws.com":
        return arns
    request = obj(record.get("requestParameters"))
    bucket, key = string(request.get("bucketName")), string(request.get("key"))
    return (f"arn:aws:s3:::{bucket}/{key}" if key else f"arn:aws:s3:::{bucket}",) if bucket else ()


def _tagged_subject(tags: dict[str, str]) -> KubernetesSubject | None:
    """The pod's service account from EKS Pod Identity session tags (also when a chained
    session inherited them as transitive tags)."""
    namespace, account = tags.get("kubernetes-namespace"), tags.get("kubernetes-service-account")
    return KubernetesSubject(namespace, account, tags.get("eks-cluster-name", "")) if namespace and account else None
