"""Azure role definitions and role assignments, as ARM returns them ({id, name, type,
properties}) or as `az role definition list` / `az role assignment list` print them
(flattened; the definition's type is `roleType` there). One format name, two kinds:
a record with `permissions` is a definition, one with `principalId` an assignment."""
from __future__ import annotations

from weft.discovery.core.formats import arm_properties
from weft.posture.core.declarations.model import AzurePermission, AzureRoleAssignment, AzureRoleDefinition
from weft.posture.core.identifiers import GUID_SCHEMA
from weft.posture.core.model import Source, pointer
from weft.posture.core.parsers import Parsed, parser
from weft.posture.core.schema import check
from weft.posture.core.values import string

_ROLE_DEFINITIONS = "/providers/microsoft.authorization/roledefinitions/"
_ROLE_ASSIGNMENTS = "/providers/microsoft.authorization/roleassignments/"
_OPERATIONS = {"type": "array", "description": "a list of operations",
               "items": {"type": "string", "minLength": 1, "description": "an operation (a non-empty string)"}}
DEFINITION_SCHEMA = {
    "type": "object", "description": "role definition properties (roleName, permissions)",
    "required": ["roleName", "permissions"],
    "properties": {
        "roleName": {"type": "string", "minLength": 1, "description": "a role name (a non-empty string)"},
        "assignableScopes": {"type": "array", "description": "a list of scopes",
                             "items": {"type": "string", "description": "a scope (a string)"}},
        "permissions": {"type": "array", "description": "a list of permissions",
                        "items": {"type": "object", "description": "a permission (actions, notActions, "
                                                                   "dataActions, notDataActions)",
                                  "properties": {"actions": _OPERATIONS, "notActions": _OPERATIONS,
                                                 "dataActions": _OPERATIONS, "notDataActions": _OPERATIONS,
                                                 "condition": {"type": ["string", "null"],
                                                               "description": "a condition (a string)"}}}},
    },
}
ASSIGNMENT_SCHEMA = {
    "type": "object", "description": "role assignment properties (principalId, roleDefinitionId, scope)",
    "required": ["principalId", "roleDefinitionId"],
    "properties": {
        "principalId": GUID_SCHEMA,
        "roleDefinitionId": {"type": "string",
                             "pattern": "(?i)/providers/Microsoft.Authorization/roleDefinitions/[^/]+$",
                             "description": "a role definition id (.../providers/Microsoft.Authorization/"
                                            "roleDefinitions/GUID)"},
        "scope": {"type": "string", "pattern": "^/", "description": "a scope (an ARM id starting with /)"},
        "principalType": {"type": "string", "description": "a principal type (User, Group, ServicePrincipal, ...)"},
        "condition": {"type": ["string", "null"], "description": "a condition (a string)"},
    },
}


@parser("azure_role")
def parse(record: dict, at: Source) -> Parsed:
    props = arm_properties(record)
    base = ("properties",) if props is not record else ()
    if "permissions" in props or _ROLE_DEFINITIONS in string(record.get("id")).lower():
        errors = check(props, DEFINITION_SCHEMA, at, *base)
        return ([], errors) if errors else ([definition(record, props, at)], [])
    errors = check(props, ASSIGNMENT_SCHEMA, at, *base)
    if not errors and not scope_of(record, props):
        errors = [at.error(pointer(*base, "scope"), "a scope (an ARM id starting with /)", "nothing")]
    return ([], errors) if errors else ([assignment(record, props, at)], [])


def definition(record: dict, props: dict, at: Source) -> AzureRoleDefinition:
    resource_id = string(record.get("id"))
    return AzureRoleDefinition(
        source=at, id=resource_id, guid=string(record.get("name")) or resource_id.rsplit("/", 1)[-1],
        role_name=props["roleName"], role_type=string(props.get("roleType") or props.get("type")),
        assignable_scopes=tuple(props.get("assignableScopes", [])),
        permissions=tuple(AzurePermission(
            actions=tuple(p.get("actions", [])), not_actions=tuple(p.get("notActions", [])),
            data_actions=tuple(p.get("dataActions", [])), not_data_actions=tuple(p.get("notDataActions", [])),
            condition=string(p.get("condition"))) for p in props["permissions"]))


def assignment(record: dict, props: dict, at: Source) -> AzureRoleAssignment:
    definition_id = props["roleDefinitionId"]
    return AzureRoleAssignment(
        source=at, id=string(record.get("id")), scope=scope_of(record, props), principal_id=props["principalId"],
        principal_type=string(props.get("principalType")), role_definition_id=definition_id,
        role_definition_guid=definition_id.rsplit("/", 1)[-1],
        role_definition_name=string(props.get("roleDefinitionName")), condition=string(props.get("condition")))


def scope_of(record: dict, props: dict) -> str:
    """The assignment's scope: its `scope` property, else the part of its id before
    /providers/Microsoft.Authorization/roleAssignments/."""
    if scope := string(props.get("scope")) or string(record.get("scope")):
        return scope
    resource_id = string(record.get("id"))
    index = resource_id.lower().find(_ROLE_ASSIGNMENTS)
    return (resource_id[:index] or "/") if index >= 0 else ""
