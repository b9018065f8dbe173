"""weft's own sensor policy: what the sensor turns into kernel allow-lists for one agent
(destination CIDRs and ports, names to resolve into them, executables, file prefixes) and
the mode it enforces them in. This schema is the contract with the sensor."""
from __future__ import annotations

API_VERSION = "weft.dev/v1alpha1"
KIND = "SensorPolicy"

_PORTS = {
    "type": "array",
    "description": "empty: every port and protocol",
    "items": {"type": "object", "additionalProperties": False, "required": ["first", "last", "protocol"],
              "properties": {"first": {"type": "integer", "minimum": 1, "maximum": 65535},
                             "last": {"type": "integer", "minimum": 1, "maximum": 65535},
                             "protocol": {"enum": ["TCP", "UDP"]}}},
}
_PATH = {"type": "object", "additionalProperties": False, "required": ["path", "prefix"],
         "properties": {"path": {"type": "string", "pattern": "^/"},
                        "prefix": {"type": "boolean", "description": "true: the path is a directory and "
                                   "everything below it"},
                        "write": {"type": "boolean"}}}

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://weft.dev/schemas/sensorpolicy-v1alpha1.json",
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": API_VERSION},
        "kind": {"const": KIND},
        "metadata": {"type": "object", "additionalProperties": False, "required": ["name"],
                     "properties": {"name": {"type": "string"}, "source": {"type": "string"}}},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["mode", "agent", "egress", "executables", "files"],
            "properties": {
                "mode": {"enum": ["observe", "audit", "enforce"]},
                "agent": {"type": "object", "additionalProperties": False, "required": ["namespace"],
                          "properties": {"namespace": {"type": "string"}, "workload": {"type": "string"},
                                         "serviceAccount": {"type": "string"},
                                         "podLabels": {"type": "object", "additionalProperties": {"type": "string"}},
                                         "clusters": {"type": "array", "items": {"type": "string"},
                                                      "description": "empty: every cluster"}}},
                "egress": {
                    "type": "object", "additionalProperties": False, "required": ["cidrs", "fqdns"],
                    "properties": {
                        "cidrs": {"type": "array", "items": {
                            "type": "object", "additionalProperties": False, "required": ["cidr", "ports"],
                            "properties": {"cidr": {"type": "string"}, "ports": _PORTS}}},
                        "fqdns": {"type": "array", "items": {
                            "type": "object", "additionalProperties": False, "required": ["name", "match", "ports"],
                            "properties": {"name": {"type": "string", "description": "the domain, no wildcard"},
                                           "match": {"enum": ["exact", "one_label", "any_depth"],
                                                     "description": "the name itself, names exactly one label "
                                                     "below it, or names any depth below it"},
                                           "ports": _PORTS}}},
                    },
                },
                "executables": {"type": "array", "items": _PATH},
                "files": {"type": "array", "items": _PATH},
            },
        },
    },
}
