"""The least-privilege GCP grant for a principal: a custom role holding exactly the
permissions it used (IAM API Role: name, title, description, includedPermissions,
stage), bound to that principal alone on the narrowest resource it used them on — the
buckets, when every use was on a bucket or its objects — with the original binding's
condition kept, as allow policies in the shape searchAllIamPolicies returns them
({resource, policy: {bindings}}). A broad member (a namespace, a whole pool) is
replaced by the principal the logs show."""
from __future__ import annotations

import hashlib
import re
from typing import Mapping

from weft.posture.core.declarations.model import GcpBinding

_BUCKET = re.compile(r"^projects/_/buckets/(?P<bucket>[^/]+)(?:/|$)")
_PROJECT = re.compile(r"^//cloudresourcemanager\.googleapis\.com/projects/(?P<project>[^/]+)$")


def project_of(binding: GcpBinding, fallback: str = "") -> str:
    match = _PROJECT.match(binding.resource)
    return match["project"] if match else fallback


def contains(binding: GcpBinding, resource: str, project: str) -> bool:
    """Whether the binding's resource holds `resource` (as audit logs name it)."""
    if not binding.resource:
        return True                                  # a bare policy: its resource is not known
    if (match := _PROJECT.match(binding.resource)) is not None:
        return not project or project == match["project"]
    own = binding.resource.split("/", 3)[-1] if binding.resource.startswith("//") else binding.resource
    return resource == own or resource.startswith(own + "/")


def least_privilege_grant(member: str, bindings: list[GcpBinding], used: Mapping[str, set[str]],
                          roles: Mapping[str, frozenset[str]], project: str) -> tuple[list[dict] | None, list[str]]:
    """[custom role, allow policies...] or None when nothing used is granted; and notes."""
    kept: dict[str, GcpBinding] = {}
    notes = []
    for permission, resources in sorted(used.items()):
        granting = next((b for b in bindings if permission in roles.get(b.role, ())
                         and all(contains(b, r, project) for r in resources)), None)
        if granting is None:
            notes.append(f"{permission} was used but no binding of a role weft knows grants it here")
        else:
            kept[permission] = granting
    if not kept:
        return None, notes
    project = project or next((p for b in kept.values() if (p := project_of(b))), "") or "PROJECT_ID"
    permissions = sorted(kept)
    role_id = "weft_" + hashlib.sha256(f"{member}\0{permissions}".encode()).hexdigest()[:12]
    role = {"name": f"projects/{project}/roles/{role_id}", "title": f"Least privilege for {member}"[:100],
            "description": "The permissions weft saw this principal use", "includedPermissions": permissions,
            "stage": "GA"}
    return [role, *_policies(role["name"], member, kept, used)], notes


def _policies(role: str, member: str, kept: dict[str, GcpBinding], used: Mapping[str, set[str]]) -> list[dict]:
    """One policy per bucket used when every use was on buckets; else one per original
    resource. Bindings keep the condition of the binding they replace."""
    on_buckets = all(used[p] and all(_BUCKET.match(r) for r in used[p]) for p in kept)
    targets: dict[str, GcpBinding] = {}
    for p, binding in kept.items():
        if on_buckets:
            for r in used[p]:
                targets.setdefault(f"//storage.googleapis.com/projects/_/buckets/{_BUCKET.match(r)['bucket']}",
                                   binding)
        else:
            targets.setdefault(binding.resource, binding)
    return [{"resource": resource, "policy": {"bindings": [_binding(role, member, b)]}}
            for resource, b in sorted(targets.items())]


def _binding(role: str, member: str, original: GcpBinding) -> dict:
    out: dict = {"role": role, "members": [member]}
    if original.condition is not None:
        c = original.condition
        out["condition"] = {k: v for k, v in (("title", c.title), ("description", c.description),
                                              ("expression", c.expression)) if v}
    return out
