"""EKS Pod Identity associations: describe-pod-identity-association output
({"association": {...}}), list-pod-identity-associations items, or the bare object
(EKS API PodIdentityAssociation: clusterName, namespace, serviceAccount, roleArn,
associationArn, associationId, targetRoleArn, disableSessionTags, externalId, ...)."""
from __future__ import annotations

from weft.posture.core.declarations.model import PodIdentityAssociation
from weft.posture.core.identifiers import ROLE_ARN_SCHEMA
from weft.posture.core.model import KubernetesSubject, Source
from weft.posture.core.parsers import Parsed, parser
from weft.posture.core.schema import check
from weft.posture.core.values import string

_NAME = {"type": "string", "minLength": 1}
SCHEMA = {
    "type": "object", "description": "a Pod Identity association",
    "required": ["clusterName", "namespace", "serviceAccount", "roleArn"],
    "properties": {
        "clusterName": {**_NAME, "description": "the cluster's name (a non-empty string)"},
        "namespace": {**_NAME, "description": "a namespace name (a non-empty string)"},
        "serviceAccount": {**_NAME, "description": "a service account name (a non-empty string)"},
        "roleArn": ROLE_ARN_SCHEMA,
        "targetRoleArn": ROLE_ARN_SCHEMA,
        "associationArn": {"type": "string", "pattern": r"^arn:aws[a-z-]*:eks:",
                           "description": "an association ARN (arn:aws:eks:REGION:ACCOUNT:podidentityassociation/...)"},
        "associationId": {"type": "string", "description": "an association id (a string)"},
        "disableSessionTags": {"type": "boolean", "description": "true or false"},
        "externalId": {"type": "string", "description": "an external id (a string)"},
    },
}


@parser("eks_pod_identity")
def parse(record: dict, at: Source) -> Parsed:
    wrapped = "association" in record
    association = record["association"] if wrapped else record
    if errors := check(association, SCHEMA, at, *(("association",) if wrapped else ())):
        return [], errors
    subject = KubernetesSubject(association["namespace"], association["serviceAccount"], association["clusterName"])
    return [PodIdentityAssociation(
        source=at, subject=subject, role_arn=association["roleArn"],
        target_role_arn=string(association.get("targetRoleArn")),
        association_arn=string(association.get("associationArn")),
        association_id=string(association.get("associationId")),
        session_tags_disabled=association.get("disableSessionTags") is True,
        external_id=string(association.get("externalId")))], []
