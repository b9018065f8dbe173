"""Evaluators of the least-privilege replacements, written apart from the code that
generates them: each reads a replacement document in its provider's format and answers
whether a logged call would be allowed. AWS actions are expanded with policyuniverse's
table of every IAM action (not weft's expansion code); resources and Azure operations
are matched with fnmatch; GCP resources by the resource hierarchy.

Test helpers only: they cover the parts of each policy language the replacements use
(no conditions, which they raise on rather than guess)."""
from __future__ import annotations

import fnmatch

from policyuniverse.expander_minimizer import get_actions_from_statement


def _list(value) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


# --- AWS -------------------------------------------------------------------------------

def aws_allows(policy: dict, action: str, resource: str | None = None) -> bool:
    """An IAM identity policy on one request: an explicit Deny wins, else an Allow must
    match the action (policyuniverse's expansion) and the resource (case-sensitive glob;
    None: the call named none, so any resource the statement allows)."""
    allowed = False
    for st in _list(policy["Statement"]):
        if st.get("Condition"):
            raise NotImplementedError("conditions are not evaluated here")
        actions = get_actions_from_statement({k: v for k, v in st.items() if k in ("Action", "NotAction")})
        if action.lower() not in actions:
            continue
        if resource is not None and not _resource_matches(st, resource):
            continue
        if st["Effect"] == "Deny":
            if resource is not None or _list(st.get("Resource")) == ["*"]:
                return False
            continue
        allowed = True
    return allowed


def authorised_on(service: str, resources: tuple[str, ...]) -> tuple[str, ...]:
    """The resources IAM authorises a logged call on: an S3 call that names an object is
    authorised on the object (Amazon S3 User Guide, "Required permissions for Amazon S3
    API operations"), not on the bucket CloudTrail also lists; others on every resource."""
    if service == "s3.amazonaws.com":
        objects = tuple(r for r in resources if "/" in r.split(":::", 1)[-1])
        return objects or resources
    return resources


def _resource_matches(st: dict, resource: str) -> bool:
    if "NotResource" in st:
        return not any(fnmatch.fnmatchcase(resource, p) for p in _list(st["NotResource"]))
    return any(fnmatch.fnmatchcase(resource, p) for p in _list(st.get("Resource")))


# --- Azure -----------------------------------------------------------------------------

def azure_allows(documents: list[dict], principal: str, operation: str, resource: str, data: bool) -> bool:
    """Role definitions and assignments as ARM bodies: some assignment to the principal at
    a scope holding `resource`, whose definition's (data)actions match the operation and
    whose not(Data)Actions do not."""
    roles = {d["name"].lower(): d["properties"] for d in documents
             if d["type"] == "Microsoft.Authorization/roleDefinitions"}
    for d in documents:
        if d["type"] != "Microsoft.Authorization/roleAssignments":
            continue
        a = d["properties"]
        role = roles.get(a["roleDefinitionId"].rsplit("/", 1)[-1].lower())
        if role is None or a["principalId"].lower() != principal.lower() or not _under(resource, a["scope"]):
            continue
        if not any(_under(a["scope"], s) for s in role["assignableScopes"]):
            continue
        allow, deny = ("dataActions", "notDataActions") if data else ("actions", "notActions")
        for p in role["permissions"]:
            if any(_op(x, operation) for x in p.get(allow, [])) and not any(_op(x, operation) for x in p.get(deny, [])):
                return True
    return False


def azure_data_plane(documents: list[dict], provider: str) -> list[str]:
    """The dataActions of every role in `documents` under one resource provider."""
    return sorted(x for d in documents if d["type"] == "Microsoft.Authorization/roleDefinitions"
                  for p in d["properties"]["permissions"] for x in p.get("dataActions", [])
                  if x.lower().startswith(provider.lower() + "/"))


def _op(pattern: str, operation: str) -> bool:
    return fnmatch.fnmatchcase(operation.lower(), pattern.lower())


def _under(resource: str, scope: str) -> bool:
    r, s = resource.lower().rstrip("/"), scope.lower().rstrip("/")
    return s == "" or r == s or r.startswith(s + "/")


# --- GCP -------------------------------------------------------------------------------

def gcp_allows(documents: list[dict], principal: str, permission: str, resource: str, project: str) -> bool:
    """Custom roles ({name, includedPermissions}) and allow policies ({resource, policy})
    on one call: a binding on an ancestor of the resource names the principal and a role
    that includes the permission. Predefined roles are not known here."""
    roles = {d["name"]: set(d["includedPermissions"]) for d in documents if "includedPermissions" in d}
    for d in documents:
        if "policy" not in d or not _holds(d["resource"], resource, project):
            continue
        for b in d["policy"]["bindings"]:
            if b.get("condition"):
                raise NotImplementedError("conditions are not evaluated here")
            if principal in b["members"] and permission in roles.get(b["role"], set()):
                return True
    return False


def _holds(ancestor: str, resource: str, project: str) -> bool:
    if ancestor.startswith("//cloudresourcemanager.googleapis.com/projects/"):
        return ancestor.rsplit("/", 1)[-1] == project
    own = ancestor.split("/", 3)[-1]          # //storage.googleapis.com/projects/_/buckets/B -> projects/_/buckets/B
    return resource == own or resource.startswith(own + "/")
