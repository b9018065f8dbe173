"""Kubernetes manifests: ServiceAccounts whose annotations name a cloud identity, and
pods / pod templates with the service account they run as. Other kinds link nothing
and give nothing. A manifest without a namespace is read as namespace "default"."""
from __future__ import annotations

from typing import Any

from weft.posture.core.declarations.agent_policy import is_agent_policy, parse_agent_policy
from weft.posture.core.declarations.model import LinkKind, ServiceAccountLink, WorkloadServiceAccount
from weft.posture.core.identifiers import GOOGLE_SERVICE_ACCOUNT_SCHEMA, GUID_SCHEMA, ROLE_ARN_SCHEMA
from weft.posture.core.model import Cloud, KubernetesSubject, Source
from weft.posture.core.parsers import Parsed, parser
from weft.posture.core.schema import check
from weft.posture.core.values import dig, obj

IRSA_ROLE = "eks.amazonaws.com/role-arn"
AZURE_CLIENT_ID = "azure.workload.identity/client-id"
AZURE_USE = "azure.workload.identity/use"
GKE_SERVICE_ACCOUNT = "iam.gke.io/gcp-service-account"

# annotation -> (cloud, kind, the other annotations of that mechanism kept as options)
LINKS = {
    IRSA_ROLE: (Cloud.AWS, LinkKind.IRSA, (
        "eks.amazonaws.com/audience", "eks.amazonaws.com/sts-regional-endpoints",
        "eks.amazonaws.com/token-expiration")),
    AZURE_CLIENT_ID: (Cloud.AZURE, LinkKind.AZURE_WORKLOAD_IDENTITY, (
        "azure.workload.identity/tenant-id", "azure.workload.identity/service-account-token-expiration")),
    GKE_SERVICE_ACCOUNT: (Cloud.GCP, LinkKind.GKE_SERVICE_ACCOUNT, ()),
}
_STRING_VALUES = {"type": ["object", "null"], "description": "a map of strings to strings",
                  "additionalProperties": {"type": "string", "description":
                                           "a string value (quote true, false and numbers in YAML)"}}
_LABELS_AND_ANNOTATIONS = {
    "labels": _STRING_VALUES,
    "annotations": {**_STRING_VALUES, "properties": {
        IRSA_ROLE: ROLE_ARN_SCHEMA, AZURE_CLIENT_ID: GUID_SCHEMA,
        "azure.workload.identity/tenant-id": GUID_SCHEMA, GKE_SERVICE_ACCOUNT: GOOGLE_SERVICE_ACCOUNT_SCHEMA}},
}
_METADATA = {
    "type": "object", "description": "metadata with a name (or generateName)",
    "anyOf": [{"required": ["name"]}, {"required": ["generateName"]}],
    "properties": {
        "name": {"type": "string", "minLength": 1, "description": "the object's name (a non-empty string)"},
        "generateName": {"type": "string", "minLength": 1, "description": "a name prefix (a non-empty string)"},
        "namespace": {"type": "string", "minLength": 1, "description": "a namespace name (a non-empty string)"},
        **_LABELS_AND_ANNOTATIONS,
    },
}
SERVICE_ACCOUNT_SCHEMA = {"type": "object", "required": ["metadata"], "properties": {"metadata": _METADATA}}
_POD_SPEC = {"type": "object", "description": "a pod spec", "properties": {
    "serviceAccountName": {"type": "string", "minLength": 1, "description": "a service account name"},
    "serviceAccount": {"type": "string", "minLength": 1, "description": "a service account name"}}}
_TEMPLATE = {"type": "object", "description": "a pod template",
             "properties": {"metadata": {"type": "object", "description": "pod template metadata",
                                         "properties": _LABELS_AND_ANNOTATIONS},
                            "spec": _POD_SPEC}}
# kind -> keys from the object to its pod template ((): the object is the pod)
WORKLOAD_TEMPLATES = {"Pod": (), "Deployment": ("spec", "template"), "StatefulSet": ("spec", "template"),
                      "DaemonSet": ("spec", "template"), "ReplicaSet": ("spec", "template"),
                      "Job": ("spec", "template"), "CronJob": ("spec", "jobTemplate", "spec", "template")}


@parser("kubernetes")
def parse(record: dict, at: Source) -> Parsed:
    kind = record.get("kind")
    if is_agent_policy(record):
        return parse_agent_policy(record, at)
    if kind == "ServiceAccount":
        errors = check(record, SERVICE_ACCOUNT_SCHEMA, at)
        return ([], errors) if errors else (service_account_links(record, at), [])
    if kind in WORKLOAD_TEMPLATES:
        errors = check(record, WORKLOAD_SCHEMAS[kind], at)
        return ([], errors) if errors else ([workload(record, kind, WORKLOAD_TEMPLATES[kind], at)], [])
    return [], []


def service_account_links(record: dict, at: Source) -> list[ServiceAccountLink]:
    metadata = record["metadata"]
    annotations = obj(metadata.get("annotations"))
    subject = KubernetesSubject(metadata.get("namespace", "default"), _name(metadata))
    links = []
    for annotation, (cloud, kind, option_keys) in LINKS.items():
        if annotation in annotations:
            options = {k: annotations[k] for k in option_keys if k in annotations}
            links.append(ServiceAccountLink(source=at, subject=subject, cloud=cloud, kind=kind,
                                            target=annotations[annotation], options=options))
    return links


def workload(record: dict, kind: str, template_path: tuple[str, ...], at: Source) -> WorkloadServiceAccount:
    template = dig(record, *template_path) if template_path else record
    spec = obj(dig(template, "spec"))
    labels = obj(dig(template, "metadata", "labels"))
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    namespace = record["metadata"].get("namespace", "default")
    return WorkloadServiceAccount(source=at, kind=kind, name=_name(record["metadata"]),
                                  subject=KubernetesSubject(namespace, account),
                                  azure_workload_identity=labels.get(AZURE_USE) == "true")


def _workload_schema(template_path: tuple[str, ...]) -> dict[str, Any]:
    schema: dict[str, Any] = _TEMPLATE if template_path else {"type": "object", "properties": {"spec": _POD_SPEC}}
    for key in reversed(template_path):
        schema = {"type": "object", "properties": {key: schema}}
    return {**schema, "required": ["metadata"], "properties": {**schema.get("properties", {}), "metadata": _METADATA}}


def _name(metadata: dict) -> str:
    return metadata.get("name") or metadata["generateName"]


WORKLOAD_SCHEMAS = {kind: _workload_schema(path) for kind, path in WORKLOAD_TEMPLATES.items()}
