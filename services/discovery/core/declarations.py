"""How each declaration format is recognised: manifests, policies, role definitions
and assignments, federated credentials (see formats.py for the conventions)."""
from __future__ import annotations

import re

from weft.discovery.core.formats import arm_properties
from weft.discovery.core.registry import register

_K8S_API_VERSION = re.compile(r"^([a-z0-9]([a-z0-9.-]*[a-z0-9])?/)?v[0-9]+((alpha|beta)[0-9]+)?$")


@register("kubernetes", kind="declaration")
def kubernetes(r: dict) -> bool:
    """Any Kubernetes object; the apiVersion shape keeps ARM resources (dated versions) out."""
    return (isinstance(r.get("kind"), str) and bool(r["kind"])
            and bool(_K8S_API_VERSION.match(str(r.get("apiVersion", "")))))


def _is_policy_document(doc: object) -> bool:
    if not isinstance(doc, dict):
        return False
    statements = doc.get("Statement")
    statements = [statements] if isinstance(statements, dict) else statements
    return isinstance(statements, list) and bool(statements) and all(
        isinstance(s, dict) and "Effect" in s for s in statements)


@register("aws_iam", kind="declaration")
def aws_iam(r: dict) -> bool:
    """A policy document (identity, resource or trust), a wrapped one, or a role description."""
    version = r.get("PolicyVersion")
    role = r.get("Role", r)
    return (_is_policy_document(r) or _is_policy_document(r.get("PolicyDocument"))
            or (isinstance(version, dict) and _is_policy_document(version.get("Document")))
            or (isinstance(role, dict) and "AssumeRolePolicyDocument" in role))


@register("eks_pod_identity", kind="declaration")
def eks_pod_identity(r: dict) -> bool:
    association = r.get("association", r)
    return (isinstance(association, dict) and {"clusterName", "namespace", "serviceAccount"} <= association.keys()
            and ("roleArn" in association or "associationArn" in association))


_AZURE_ROLE_TYPES = {"microsoft.authorization/roledefinitions", "microsoft.authorization/roleassignments"}


@register("azure_role", kind="declaration")
def azure_role(r: dict) -> bool:
    if str(r.get("type", "")).lower() in _AZURE_ROLE_TYPES:
        return True
    props = arm_properties(r)
    return {"roleName", "permissions"} <= props.keys() or {"principalId", "roleDefinitionId"} <= props.keys()


_FEDERATED_CREDENTIAL_TYPE = "microsoft.managedidentity/userassignedidentities/federatedidentitycredentials"


@register("azure_federated_credential", kind="declaration")
def azure_federated_credential(r: dict) -> bool:
    if str(r.get("type", "")).lower() == _FEDERATED_CREDENTIAL_TYPE:
        return True
    return {"issuer", "subject", "audiences"} <= arm_properties(r).keys()


@register("gcp_iam", kind="declaration")
def gcp_iam(r: dict) -> bool:
    """An IAM policy (getIamPolicy), or a setIamPolicy request around one."""
    policy = r.get("policy", r)
    bindings = policy.get("bindings") if isinstance(policy, dict) else None
    return isinstance(bindings, list) and all(
        isinstance(b, dict) and "role" in b and "members" in b for b in bindings)


@register("gcp_wif_provider", kind="declaration")
def gcp_wif_provider(r: dict) -> bool:
    return isinstance(r.get("attributeMapping"), dict) and any(
        isinstance(r.get(k), dict) for k in ("oidc", "aws", "saml", "x509"))
