"""Azure federated identity credentials: the ARM resource on a user-assigned managed
identity ({id, name, type, properties: {issuer, subject, audiences}}), its ARM
template form (name "IDENTITY/CREDENTIAL"), `az identity federated-credential` output
(flattened) and Graph application credentials (flattened, GUID id, no parent)."""
from __future__ import annotations

from weft.discovery.core.formats import arm_properties
from weft.posture.core.declarations.model import AzureFederatedCredential
from weft.posture.core.model import Source
from weft.posture.core.parsers import Parsed, parser
from weft.posture.core.schema import check
from weft.posture.core.values import string

_CHILD = "/federatedIdentityCredentials/"
SCHEMA = {
    "type": "object", "description": "federated credential properties (issuer, subject, audiences)",
    "required": ["issuer", "subject", "audiences"],
    "properties": {
        "issuer": {"type": "string", "pattern": "^https://", "description": "an issuer URL (https://...)"},
        "subject": {"type": "string", "minLength": 1, "description": "a subject (such as system:serviceaccount:NS:SA)"},
        "audiences": {"type": "array", "minItems": 1, "description": "a non-empty list of audiences",
                      "items": {"type": "string", "minLength": 1, "description": "an audience (a non-empty string)"}},
    },
}


@parser("azure_federated_credential")
def parse(record: dict, at: Source) -> Parsed:
    props = arm_properties(record)
    if errors := check(props, SCHEMA, at, *(("properties",) if props is not record else ())):
        return [], errors
    resource_id, name = string(record.get("id")), string(record.get("name"))
    identity_id, identity_name = parent(resource_id, name)
    return [AzureFederatedCredential(
        source=at, name=name if name.startswith("[") else name.rsplit("/", 1)[-1], id=resource_id,
        identity_name=identity_name,
        identity_id=identity_id, issuer=props["issuer"], subject=props["subject"],
        audiences=tuple(props["audiences"]))], []


def parent(resource_id: str, name: str) -> tuple[str, str]:
    """(identity resource id, identity name) of a credential, from its ARM id or from an
    ARM template name "IDENTITY/CREDENTIAL"; ("", "") when neither says."""
    index = resource_id.lower().find(_CHILD.lower())
    if index > 0:
        identity_id = resource_id[:index]
        return identity_id, identity_id.rsplit("/", 1)[-1]
    if name.count("/") == 1 and not name.startswith("["):
        return "", name.split("/")[0]
    return "", ""
