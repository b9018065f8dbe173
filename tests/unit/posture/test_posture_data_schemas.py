"""The data built by hand from the providers' documentation is valid against the
providers' published schemas (in ../shared/fixtures/schemas/): Kubernetes v1.30 strict
object schemas, cfn-lint's IAM trust and identity policy schemas, and the ARM template
schemas of federated credentials, role definitions and role assignments. So the parsers
are tested on input the real APIs accept."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft4Validator, Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT202012

SCHEMAS = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "schemas"
DATA = Path(__file__).resolve().parent / "data" / "declarations"
K8S = "https://kubernetes.io/api/_definitions.json#/$defs/"
ARM_COMMON = "https://schema.management.azure.com/schemas/common/definitions.json"
AUTHORIZATION = "2022-04-01/Microsoft.Authorization.json"


def _json(path: Path):
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def kubernetes() -> Registry:
    return Registry().with_resource("https://kubernetes.io/api/_definitions.json", Resource.from_contents(
        _json(SCHEMAS / "kubernetes/v1.30.0-local-strict/_definitions.json")))


@pytest.fixture(scope="module")
def iam() -> Registry:
    return Registry().with_resources(
        (name, Resource(contents=_json(SCHEMAS / f"aws-iam/{file}"), specification=DRAFT202012))
        for name, file in [("policy", "policy.json"), ("trust", "policy_trust.json"),
                           ("identity", "policy_identity.json")])


@pytest.fixture(scope="module")
def arm() -> Registry:
    common = _json(SCHEMAS / "azure-policy/common/definitions.json")
    return Registry().with_resource(ARM_COMMON, Resource(contents=common, specification=DRAFT4))


@pytest.mark.parametrize("name", ["k8s-agents.yaml", "k8s-serviceaccounts-list.yaml"])
def test_manifests_are_valid_kubernetes_objects(name, kubernetes):
    documents = [d for d in yaml.safe_load_all((DATA / name).read_text()) if d]
    objects = [item for d in documents for item in (d["items"] if d["kind"] == "List" else [d])]
    for obj in objects:
        group_version = obj["apiVersion"].replace("/", ".") if "/" in obj["apiVersion"] else f"core.{obj['apiVersion']}"
        definition = f"io.k8s.api.{group_version}.{obj['kind']}"
        validator = Draft202012Validator({"$ref": K8S + definition}, registry=kubernetes)
        assert list(validator.iter_errors(obj)) == [], f"{name}: {obj['kind']} {obj['metadata']['name']}"


@pytest.mark.parametrize("name, pointer, schema", [
    ("aws-iam-role-irsa.json", ("Role", "AssumeRolePolicyDocument"), "trust"),
    ("aws-iam-trust-namespace-wide.json", (), "trust"),
    ("aws-iam-trust-pod-identity.json", (), "trust"),
    ("aws-iam-role-policy.json", ("PolicyDocument",), "identity"),
])
def test_policy_documents_are_valid_iam_policies(name, pointer, schema, iam):
    document = _json(DATA / name)
    for key in pointer:
        document = document[key]
    validator = Draft202012Validator({"$ref": schema}, registry=iam)
    assert list(validator.iter_errors(document)) == []


@pytest.mark.parametrize("name, items, schema, definition", [
    ("azure-federated-credential.json", lambda d: [d], "2024-11-30/Microsoft.ManagedIdentity.json",
     "FederatedIdentityCredentialProperties"),
    ("azure-federated-credentials-list.json", lambda d: d["value"], "2024-11-30/Microsoft.ManagedIdentity.json",
     "FederatedIdentityCredentialProperties"),
    ("azure-role-assignment.json", lambda d: [d], AUTHORIZATION, "RoleAssignmentProperties"),
    ("azure-role-definition.json", lambda d: [d], AUTHORIZATION, "RoleDefinitionProperties"),
])
def test_arm_resources_have_valid_properties(name, items, schema, definition, arm):
    document = _json(SCHEMAS / "azure-rest/arm-template-schemas" / schema)
    validator = Draft4Validator({**document, "$ref": f"#/definitions/{definition}"}, registry=arm)
    for item in items(_json(DATA / name)):
        writable = {k: v for k, v in item["properties"].items() if v is not None and k not in _READ_ONLY}
        assert list(validator.iter_errors(writable)) == []


_READ_ONLY = {"createdOn", "updatedOn", "createdBy", "updatedBy", "scope", "type"}   # outputs, not template input
