"""The least-privilege Azure role for an identity's role assignment: the entries of
actions and dataActions its use proves, as a custom role definition and an assignment
of it, in ARM's request bodies (Authorization REST API: Role Definitions - Create Or
Update, Role Assignments - Create).

How far it narrows follows the evidence. Where logs name operations, an entry is
replaced by the operations used under it, and the scope by the narrowest one holding
every resource they were used on. Where only sign-ins speak (Entra says which resource
an identity got tokens for, not what it did with them), an entry is kept whole if its
plane was used — control-plane actions need an Azure Resource Manager token, data
actions a token for their data service — and dropped if not."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from weft.posture.core.declarations.model import AzureRoleAssignment, AzureRoleDefinition
from weft.posture.core.findings.azure_ops import AzureUse, matches, provider

_NAMESPACE = uuid.UUID("7a1d2c64-5e0f-4b8a-9c3d-6f2e1b0a9d85")   # weft's, for content-derived GUIDs


@dataclass(frozen=True)
class Entry:
    plane: str                     # "actions" | "dataActions"
    pattern: str
    used: bool
    operations: tuple[str, ...] = ()   # the logged operations that prove it
    sign_in: str = ""                  # else the sign-in that shows its plane was used

    @property
    def replacement(self) -> tuple[str, ...]:
        """What a least-privilege role keeps of it: the operations, or the entry whole."""
        return self.operations or ((self.pattern,) if self.used else ())


def judge(definition: AzureRoleDefinition, use: AzureUse) -> list[Entry]:
    """Every entry of the definition, used or not, with what shows it."""
    planes = {o: plane_of(o, definition) for o in use.operations}
    return [_judge(plane, e, excluded, use, planes) for p in definition.permissions
            for plane, entries, excluded in (("actions", p.actions, p.not_actions),
                                             ("dataActions", p.data_actions, p.not_data_actions))
            for e in entries]


def plane_of(operation: str, definition: AzureRoleDefinition) -> str:
    """Whether a logged operation is a data action or a control-plane action. Logs do not
    say and weft has no catalogue of operations, so the plane of the most specific entry
    that matches it decides (`…/containers/blobs/*` in dataActions over `…/containers/*`
    in actions); a tie is the control plane."""
    best = ("actions", -1)
    for p in definition.permissions:
        for plane, entries in (("actions", p.actions), ("dataActions", p.data_actions)):
            for e in entries:
                literal = len(e.split("*", 1)[0])
                if matches(e, operation) and literal > best[1]:
                    best = (plane, literal)
    return best[0]


def _judge(plane: str, pattern: str, excluded: tuple[str, ...], use: AzureUse, planes: dict[str, str]) -> Entry:
    ops = tuple(sorted(o for o in use.operations if planes[o] == plane and matches(pattern, o)
                       and not any(matches(n, o) for n in excluded)))
    if ops:
        return Entry(plane, pattern, True, ops)
    if _covered(pattern, use):                # operations of that provider are logged: none matched
        return Entry(plane, pattern, False)
    if plane == "actions" and use.control_plane:
        return Entry(plane, pattern, True, sign_in="a token for Azure Resource Manager")
    if plane == "dataActions" and (provider(pattern) in use.data_providers or provider(pattern) == "*" and
                                   use.data_providers):
        return Entry(plane, pattern, True, sign_in=f"a token for the data service of {pattern.split('/', 1)[0]}")
    return Entry(plane, pattern, False)


def _covered(pattern: str, use: AzureUse) -> bool:
    return any(provider(o) == provider(pattern) for o in use.operations)


def least_privilege_role(assignment: AzureRoleAssignment, definition: AzureRoleDefinition, entries: list[Entry],
                         use: AzureUse, identity: str) -> list[dict] | None:
    """[role definition body, role assignment body]; None when nothing is used."""
    kept = {plane: sorted({x for e in entries if e.plane == plane for x in e.replacement})
            for plane in ("actions", "dataActions")}
    if not kept["actions"] and not kept["dataActions"]:
        return None
    scope = _scope(assignment.scope, entries, use)
    permission = {"actions": kept["actions"],
                  "notActions": _still_needed(definition, "not_actions", kept["actions"]),
                  "dataActions": kept["dataActions"],
                  "notDataActions": _still_needed(definition, "not_data_actions", kept["dataActions"])}
    guid = str(uuid.uuid5(_NAMESPACE, f"role\0{assignment.id}\0{identity}\0{permission}\0{scope}"))
    subscription = "/".join(scope.split("/")[:3]) if scope.lower().startswith("/subscriptions/") else ""
    definition_id = f"{subscription}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
    role = {"name": guid, "type": "Microsoft.Authorization/roleDefinitions", "properties": {
        "roleName": f"{definition.role_name} (least privilege for {identity})", "type": "CustomRole",
        "description": f"What {identity} used of {definition.role_name}, as weft observed it",
        "permissions": [permission], "assignableScopes": [assignable(scope)]}}
    assignment_body = {"name": str(uuid.uuid5(_NAMESPACE, f"assignment\0{guid}\0{assignment.principal_id}")),
                       "type": "Microsoft.Authorization/roleAssignments", "properties": {
                           "roleDefinitionId": definition_id, "principalId": assignment.principal_id,
                           "principalType": assignment.principal_type or "ServicePrincipal", "scope": scope}}
    return [role, assignment_body]


def _still_needed(definition: AzureRoleDefinition, field: str, kept: list[str]) -> list[str]:
    """The exclusions that can still take something from the kept entries: of their
    providers, and never one that would take away an operation that was used."""
    return sorted({n for p in definition.permissions for n in getattr(p, field)
                   if any(provider(n) == provider(k) for k in kept)
                   and not any(matches(n, k) for k in kept if "*" not in k)})


def _scope(scope: str, entries: list[Entry], use: AzureUse) -> str:
    """The assignment's scope, or the narrowest one below it holding every resource the
    used operations named (only when operations prove every kept entry)."""
    used = [e for e in entries if e.used]
    if not used or any(not e.operations for e in used):
        return scope
    resources = [r for e in used for o in e.operations for r in use.operations.get(o, ())]
    if not resources or not all(_under(r, scope) for r in resources):
        return scope
    common = _common_parent(resources)
    return common if _under(common, scope) and _is_resource(common) else scope


def assignable(scope: str) -> str:
    """The scope a custom role is made assignable at: the resource group (or subscription)
    holding `scope` — custom roles are assignable at management group, subscription or
    resource group scopes, and from there at any resource below (Azure docs,
    "Understand Azure role definitions: AssignableScopes")."""
    parts = scope.rstrip("/").split("/")
    if len(parts) >= 5 and parts[1].lower() == "subscriptions" and parts[3].lower() == "resourcegroups":
        return "/".join(parts[:5])
    return "/".join(parts[:3]) if len(parts) >= 3 and parts[1].lower() == "subscriptions" else scope


def _under(resource: str, scope: str) -> bool:
    r, s = resource.lower().rstrip("/"), scope.lower().rstrip("/")
    return s in ("", "/") or r == s or r.startswith(s + "/")


def _common_parent(resources: list[str]) -> str:
    split = [r.rstrip("/").split("/") for r in resources]
    common = []
    for parts in zip(*split):
        if len({p.lower() for p in parts}) != 1:
            break
        common.append(parts[0])
    return "/".join(common)


def _is_resource(scope: str) -> bool:
    """An ARM id of a subscription, resource group or resource (an even count of
    name/value segments after /providers/NAMESPACE), not a segment in between."""
    parts = scope.strip("/").split("/")
    if "providers" in (p.lower() for p in parts):
        index = [p.lower() for p in parts].index("providers")
        return len(parts[index + 2:]) % 2 == 0 and len(parts) > index + 2
    return len(parts) in (2, 4) and parts[0].lower() == "subscriptions"
