"""GCP workload identity pool providers (IAM API WorkloadIdentityPoolProvider, as
`gcloud iam workload-identity-pools providers describe` prints it): which issuer or
AWS account the pool trusts, the attribute mapping and condition, the audiences."""
from __future__ import annotations

import re

from weft.posture.core.declarations.model import WorkloadIdentityPoolProvider
from weft.posture.core.model import Source
from weft.posture.core.parsers import Parsed, parser
from weft.posture.core.schema import check
from weft.posture.core.values import obj, string

_NAME = re.compile(r"^projects/(?P<project>[^/]+)/locations/[^/]+/workloadIdentityPools/(?P<pool>[^/]+)"
                   r"/providers/(?P<provider>[^/]+)$")
PROTOCOLS = ("oidc", "aws", "saml", "x509")
SCHEMA = {
    "type": "object", "description": "a workload identity pool provider with one of oidc, aws, saml or x509",
    "required": ["attributeMapping"],
    "anyOf": [{"required": [p], "properties": {p: {"type": "object"}}} for p in PROTOCOLS],
    "properties": {
        "name": {"type": "string", "pattern": _NAME.pattern,
                 "description": "a provider name (projects/NUMBER/locations/global/workloadIdentityPools/POOL/"
                                "providers/ID)"},
        "attributeMapping": {"type": "object", "required": ["google.subject"],
                             "description": "an attribute mapping with google.subject",
                             "properties": {"google.subject": {"type": "string", "description":
                                                               "a google.subject mapping (a CEL expression such as "
                                                               "assertion.sub)"}},
                             "additionalProperties": {"type": "string", "description": "a CEL expression (a string)"}},
        "attributeCondition": {"type": "string", "description": "a CEL expression (a string)"},
        "disabled": {"type": "boolean", "description": "true or false"},
        "oidc": {"type": "object", "required": ["issuerUri"],
                 "description": "OIDC settings (issuerUri, allowedAudiences)",
                 "properties": {"issuerUri": {"type": "string", "pattern": "^https://",
                                              "description": "an issuer URL (https://...)"},
                                "allowedAudiences": {"type": "array", "description": "a list of audiences",
                                                     "items": {"type": "string", "description": "an audience"}}}},
        "aws": {"type": "object", "required": ["accountId"], "description": "AWS settings (accountId)",
                "properties": {"accountId": {"type": "string", "pattern": r"^\d{12}$",
                                             "description": "an AWS account id (12 digits)"}}},
    },
}


@parser("gcp_wif_provider")
def parse(record: dict, at: Source) -> Parsed:
    if errors := check(record, SCHEMA, at):
        return [], errors
    name = string(record.get("name"))
    parts = _NAME.match(name)
    oidc = obj(record.get("oidc"))
    return [WorkloadIdentityPoolProvider(
        source=at, name=name, project_number=parts["project"] if parts else "",
        pool=parts["pool"] if parts else "", provider_id=parts["provider"] if parts else "",
        protocol=next(p for p in PROTOCOLS if isinstance(record.get(p), dict)),
        attribute_mapping=dict(record["attributeMapping"]),
        attribute_condition=string(record.get("attributeCondition")),
        issuer_uri=string(oidc.get("issuerUri")), allowed_audiences=tuple(oidc.get("allowedAudiences", [])),
        aws_account_id=string(obj(record.get("aws")).get("accountId")),
        disabled=record.get("disabled") is True)], []
