"""The permissions of predefined GCP roles, from the table shipped beside posture's core
(`gcp_roles.yaml`, with its source). Checked on load: a role id per key, a title, a
non-empty list of permissions, nothing else."""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Mapping

import yaml
from jsonschema import Draft202012Validator

TABLE = "gcp_roles.yaml"
SCHEMA = {
    "type": "object",
    "propertyNames": {"pattern": r"^roles/[A-Za-z0-9_.]+$"},
    "additionalProperties": {
        "type": "object", "additionalProperties": False, "required": ["title", "includedPermissions"],
        "properties": {"title": {"type": "string", "minLength": 1},
                       "includedPermissions": {"type": "array", "minItems": 1, "uniqueItems": True,
                                               "items": {"type": "string",
                                                         "pattern": r"^[a-z0-9]+(\.[A-Za-z0-9]+){2,}$"}}}},
}


class RoleTableError(ValueError):
    pass


def parse_roles(text: str) -> dict[str, frozenset[str]]:
    data = yaml.safe_load(text)
    if errors := sorted(Draft202012Validator(SCHEMA).iter_errors(data), key=lambda e: list(e.absolute_path)):
        raise RoleTableError("; ".join(f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]))
    return {role: frozenset(body["includedPermissions"]) for role, body in data.items()}


@lru_cache(maxsize=1)
def predefined_roles() -> Mapping[str, frozenset[str]]:
    return parse_roles(resources.files("weft.posture.core").joinpath(TABLE).read_text(encoding="utf-8"))


def access_level(permission: str) -> str:
    """Permissions for IAM changes and acting as others; List, Read or Write by verb."""
    verb = permission.rsplit(".", 1)[-1]
    if verb in ("setIamPolicy", "actAs", "getAccessToken", "getOpenIdToken", "signBlob", "signJwt",
                "implicitDelegation") or verb.startswith("createKey"):
        return "Permissions"
    if verb.startswith("list") or verb == "search":
        return "List"
    if verb.startswith("get") or verb.startswith("read"):
        return "Read"
    return "Write"
