"""The real schemas come in four dialects; each function here turns one into JSON Schema
a validator can use: a CRD manifest's openAPIV3Schema, a Swagger 2.0 definition, a Google
Discovery schema, and the AWS IAM files' custom `requiredXor` keyword.

Swagger, Discovery and CRD schemas accept unknown fields (servers prune or ignore them);
`strict` closes every declared object, as `kubectl apply --validate=strict` does, so a
misspelt field in a compiled output is an error, not a silent no-op."""
from __future__ import annotations

import copy
from typing import Any

import jsonschema


def strict(schema: Any) -> Any:
    """Close each object schema that declares its properties (typed as object)."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) if k not in ("enum", "required", "const") else v for k, v in schema.items()}
    if "properties" in out and out.get("type") == "object" and "additionalProperties" not in out \
            and "patternProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def crd_version_schema(crd: dict, version: str) -> dict:
    """The openAPIV3Schema of one served version of a CustomResourceDefinition."""
    for v in crd["spec"]["versions"]:
        if v["name"] == version:
            return strict(copy.deepcopy(v["schema"]["openAPIV3Schema"]))
    raise KeyError(f"{crd['metadata']['name']} has no version {version}")


def swagger_definition(doc: dict, name: str) -> dict:
    """One Swagger 2.0 definition, its local $refs resolved under $defs, read-only
    properties removed (a request must not send them)."""
    defs = {n: _swagger_node(d) for n, d in doc["definitions"].items()}
    return strict({"$defs": defs, "$ref": f"#/$defs/{name}"})


def _swagger_node(node: Any) -> Any:
    if isinstance(node, list):
        return [_swagger_node(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k.startswith("x-ms-") or k == "readOnly":
            continue
        if k == "$ref" and isinstance(v, str) and v.startswith("#/definitions/"):
            out[k] = "#/$defs/" + v.removeprefix("#/definitions/")
        elif k == "properties":
            out[k] = {p: _swagger_node(s) for p, s in v.items() if not (isinstance(s, dict) and s.get("readOnly"))}
        else:
            out[k] = _swagger_node(v)
    return out


def discovery_schema(doc: dict, name: str) -> dict:
    """One schema of a Google API Discovery document; its bare-id $refs made JSON Schema."""
    defs = {n: _discovery_node(s) for n, s in doc["schemas"].items()}
    return strict({"$defs": defs, "$ref": f"#/$defs/{name}"})


def _discovery_node(node: Any) -> Any:
    if isinstance(node, list):
        return [_discovery_node(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k == "$ref" and isinstance(v, str):
            out[k] = f"#/$defs/{v}"
        elif k in ("id", "annotations", "enumDescriptions", "enumDeprecated", "deprecated", "readOnly"):
            continue
        elif k == "type" and v == "any":
            continue
        elif k == "properties":
            out[k] = {p: _discovery_node(s) for p, s in v.items()}
        else:
            out[k] = _discovery_node(v)
    return out


def _required_xor(validator: Any, names: list[str], instance: Any, schema: dict) -> Any:
    """cfn-lint's keyword: exactly one of `names` is present (Action xor NotAction, ...)."""
    if not isinstance(instance, dict):
        return
    present = [n for n in names if n in instance]
    if len(present) != 1:
        yield jsonschema.ValidationError(f"expected exactly one of {', '.join(names)}; found "
                                         f"{', '.join(present) or 'none'}")


IamValidator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"requiredXor": _required_xor})
