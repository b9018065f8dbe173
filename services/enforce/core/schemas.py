"""Each output format's real schema, loaded from the fixtures directory beside the repo
(`../shared/fixtures/schemas`, or WEFT_SCHEMAS_DIR), and `errors(name, document)` that
says where a compiled document breaks it. Names are what compilers declare as `schema`."""
from __future__ import annotations

import json
import os
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Callable

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT202012

from weft.enforce.core import sensorpolicy
from weft.enforce.core.schema_formats import (IamValidator, crd_version_schema, discovery_schema, strict,
                                              swagger_definition)

DEFAULT_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "schemas"
ARM_COMMON = "https://schema.management.azure.com/schemas/common/definitions.json"
ARM_DEPLOYMENTS = "https://schema.management.azure.com/schemas/2018-05-01/Microsoft.Resources.Deployments.json"

# What the Azure Policy definition envelope carries around its policyRule (the rule has
# the real schema; no schema of the envelope is published beside it).
AZURE_POLICY_ENVELOPE = {
    "type": "object", "additionalProperties": False, "required": ["properties"],
    "properties": {"name": {"type": "string"}, "properties": {
        "type": "object", "additionalProperties": False, "required": ["displayName", "mode", "policyRule"],
        "properties": {"displayName": {"type": "string", "maxLength": 128},
                       "description": {"type": "string", "maxLength": 512},
                       "policyType": {"enum": ["Custom"]},
                       "mode": {"enum": ["All", "Indexed"]},
                       "metadata": {"type": "object"},
                       "parameters": {"type": "object"},
                       "policyRule": {"type": "object"}}}}}

# CreatePodIdentityAssociation's request (EKS API reference): the session policy travels
# as a JSON string in `policy`, and is itself an identity policy.
POD_IDENTITY_ASSOCIATION = {
    "type": "object", "additionalProperties": False,
    "required": ["clusterName", "namespace", "serviceAccount", "roleArn"],
    "properties": {"clusterName": {"type": "string", "minLength": 1, "maxLength": 100},
                   "namespace": {"type": "string"}, "serviceAccount": {"type": "string"},
                   "roleArn": {"type": "string", "pattern": r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$"},
                   "disableSessionTags": {"type": "boolean"},
                   "policy": {"type": "string", "maxLength": 2048},
                   "tags": {"type": "object", "additionalProperties": {"type": "string"}}}}


class SchemasNotFound(Exception):
    pass


def schemas_dir() -> Path:
    return Path(os.environ.get("WEFT_SCHEMAS_DIR") or DEFAULT_DIR)


class SchemaSet:
    def __init__(self, root: Path | None = None):
        self.root = root or schemas_dir()
        self._built: dict[str, Callable[[Any], list[str]]] = {}

    def errors(self, name: str, document: Any) -> list[str]:
        """Every place `document` breaks schema `name`, as 'path: message'."""
        if name not in self._built:
            self._built[name] = self._checks()[name]()
        return self._built[name](document)

    def names(self) -> list[str]:
        return list(self._checks())

    def _load(self, relative: str) -> Any:
        path = self.root / relative
        if not path.exists():
            raise SchemasNotFound(f"schema file {path} not found; set WEFT_SCHEMAS_DIR to the directory "
                                  "holding kubernetes/, crds-catalog/, aws-iam/, ... (shared/fixtures/schemas)")
        text = path.read_text()
        return yaml.safe_load(text) if path.suffix == ".yaml" else json.loads(text)

    def _checks(self) -> dict[str, Callable[[], Callable[[Any], list[str]]]]:
        """Schema name -> how to build its check (built on first use: some files are large)."""
        return {
            "kubernetes/networkpolicy": lambda: self._kubernetes(),
            "cilium/ciliumnetworkpolicy": lambda: self._kube_object(
                "crds-catalog/cilium.io/ciliumnetworkpolicy_v2.json", "cilium.io/v2", "CiliumNetworkPolicy"),
            "gke/fqdnnetworkpolicy": lambda: self._kube_object(
                "crds-catalog/networking.gke.io/fqdnnetworkpolicy_v1alpha1.json", "networking.gke.io/v1alpha1",
                "FQDNNetworkPolicy"),
            "eks/applicationnetworkpolicy": lambda: self._kube_object(
                "crds-catalog/networking.k8s.aws/applicationnetworkpolicy_v1alpha1.json",
                "networking.k8s.aws/v1alpha1", "ApplicationNetworkPolicy"),
            "spo/seccompprofile": lambda: _all(*(self._crd(f, "v1beta1", "security-profiles-operator.x-k8s.io/v1beta1",
                                                   "SeccompProfile")
                                         for f in ("crd-yaml/security-profiles-operator/seccompprofile.yaml",
                                                   "crd-yaml/security-profiles-operator/"
                                                   "seccompprofile.v0.10.1-v1beta1-only.yaml"))),
            "kubearmor/policy": lambda: self._crd("crd-yaml/kubearmor/KubeArmorPolicy.yaml", "v1",
                                          "security.kubearmor.com/v1", "KubeArmorPolicy"),
            "aws/identity-policy": lambda: self._iam("aws-iam/policy_identity.json"),
            "aws/trust-policy": lambda: self._iam("aws-iam/policy_trust.json"),
            "aws/pod-identity-association": lambda: self._pod_identity(),
            "azure/role-definition": lambda: self._arm("2022-04-01/Microsoft.Authorization.json", "roleDefinitions",
                                               "azure-rest/Microsoft.Authorization/stable/2022-04-01/"
                                               "authorization-RoleDefinitionsCalls.json", "RoleDefinitionProperties"),
            "azure/federated-credential": lambda: self._arm(
                "2024-11-30/Microsoft.ManagedIdentity.json", "userAssignedIdentities_federatedIdentityCredentials",
                "azure-rest/Microsoft.ManagedIdentity/stable/2026-05-31/ManagedIdentity.json",
                "FederatedIdentityCredentialProperties"),
            "azure/policy-definition": lambda: self._azure_policy(),
            "gcp/iam-policy": lambda: self._discovery("gcp-discovery/cloudresourcemanager.v3.json", "Policy"),
            "gcp/role": lambda: self._discovery("gcp-discovery/iam.v1.json", "Role"),
            "gcp/egress-policy": lambda: self._discovery("gcp-discovery/accesscontextmanager.v1.json", "EgressPolicy"),
            "weft/sensor-policy": lambda: _check(jsonschema.Draft202012Validator(sensorpolicy.SCHEMA)),
        }

    def _kubernetes(self) -> Callable[[Any], list[str]]:
        base = "kubernetes/v1.30.0-local-strict/"
        schema, defs = self._load(base + "networkpolicy-networking-v1.json"), self._load(base + "_definitions.json")
        registry = Registry().with_resources([(s["$id"], Resource.from_contents(s, DRAFT202012)) for s in (schema, defs)])
        return _all(_check(jsonschema.Draft202012Validator(schema, registry=registry)),
                    _check(jsonschema.Draft7Validator(_envelope({}, "networking.k8s.io/v1", "NetworkPolicy"))))

    def _kube_object(self, relative: str, api_version: str, kind: str) -> Callable[[Any], list[str]]:
        return _check(jsonschema.Draft7Validator(_envelope(self._load(relative), api_version, kind)))

    def _crd(self, relative: str, version: str, api_version: str, kind: str) -> Callable[[Any], list[str]]:
        schema = crd_version_schema(self._load(relative), version)
        return _check(jsonschema.Draft7Validator(_envelope(schema, api_version, kind)))

    @cached_property
    def _iam_registry(self) -> Registry:
        policy = self._load("aws-iam/policy.json")
        return Registry().with_resource("policy", Resource.from_contents(policy, DRAFT202012))

    def _iam(self, relative: str) -> Callable[[Any], list[str]]:
        return _check(IamValidator(self._load(relative), registry=self._iam_registry))

    def _pod_identity(self) -> Callable[[Any], list[str]]:
        envelope = _check(jsonschema.Draft202012Validator(POD_IDENTITY_ASSOCIATION))
        identity = self._iam("aws-iam/policy_identity.json")

        def check(doc: Any) -> list[str]:
            found = envelope(doc)
            if isinstance(doc, dict) and isinstance(doc.get("policy"), str):
                try:
                    found += [f"policy (decoded JSON) {e}" for e in identity(json.loads(doc["policy"]))]
                except ValueError as e:
                    found.append(f"policy: not JSON: {e}")
            return found
        return check

    @cached_property
    def _arm_registry(self) -> Registry:
        common = self._load("azure-policy/common/definitions.json")
        stub = {"definitions": {"DeploymentProperties": {"type": "object"}}}  # dangling upstream (SOURCES.md)
        return Registry().with_resources([(ARM_COMMON, Resource.from_contents(common, DRAFT4)),
                                           (ARM_DEPLOYMENTS, Resource.from_contents(stub, DRAFT4))])

    def _arm(self, template_file: str, resource: str, swagger_file: str, definition: str) -> Callable[[Any], list[str]]:
        template = self._load("azure-rest/arm-template-schemas/" + template_file)
        registry = self._arm_registry.with_resource(template["id"].rstrip("#"), Resource.from_contents(template, DRAFT4))
        arm = _check(jsonschema.Draft4Validator({"$ref": template["id"].rstrip("#") + "#/resourceDefinitions/" + resource},
                                                registry=registry))
        rest = _check(jsonschema.Draft202012Validator(swagger_definition(self._load(swagger_file), definition)),
                      "properties")
        return _all(arm, lambda doc: rest(doc.get("properties") if isinstance(doc, dict) else None))

    def _azure_policy(self) -> Callable[[Any], list[str]]:
        rule_schema = self._load("azure-policy/2020-10-01/policyDefinition.json")
        registry = self._arm_registry.with_resource(rule_schema["id"].rstrip("#"),
                                                    Resource.from_contents(rule_schema, DRAFT4))
        rule = _check(jsonschema.Draft4Validator(rule_schema, registry=registry), "properties.policyRule")
        envelope = _check(jsonschema.Draft202012Validator(AZURE_POLICY_ENVELOPE))

        def check(doc: Any) -> list[str]:
            props = doc.get("properties", {}) if isinstance(doc, dict) else {}
            return envelope(doc) + rule(props.get("policyRule") if isinstance(props, dict) else None)
        return check

    def _discovery(self, relative: str, name: str) -> Callable[[Any], list[str]]:
        return _check(jsonschema.Draft202012Validator(discovery_schema(self._load(relative), name)))


def _envelope(schema: dict, api_version: str, kind: str) -> dict:
    """A CRD's schema plus what the API server checks before it: the exact apiVersion and
    kind, metadata and spec present, nothing unknown at the top."""
    return {"allOf": [schema, {"type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
                               "properties": {"apiVersion": {"const": api_version}, "kind": {"const": kind},
                                              "metadata": {"type": "object", "required": ["name"]}}}]}


def _check(validator: Any, prefix: str = "") -> Callable[[Any], list[str]]:
    def errors(doc: Any) -> list[str]:
        return [f"{(prefix + e.json_path.removeprefix('$')).lstrip('.') or '(top)'}: {e.message}"
                for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.path)))]
    return errors


def _all(*checks: Callable[[Any], list[str]]) -> Callable[[Any], list[str]]:
    def errors(doc: Any) -> list[str]:
        return [e for check in checks for e in check(doc)]
    return errors


@lru_cache(maxsize=4)
def schema_set(root: str | None = None) -> SchemaSet:
    return SchemaSet(Path(root) if root else None)


__all__ = ["SchemaSet", "SchemasNotFound", "schema_set", "schemas_dir", "strict"]
