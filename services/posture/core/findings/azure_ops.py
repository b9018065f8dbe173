"""Azure RBAC operations as role definitions grant them: an entry of actions or
dataActions matches an operation case-insensitively, `*` standing for any run of
characters; notActions and notDataActions take matches away (they are not a deny:
Azure docs, "Understand Azure role definitions"). And what a sign-in says was used:
a token for Azure Resource Manager is what every control-plane action needs; a token
for a data service is what its data actions need (the resource app ids are the
first-party apps' well-known ids, as in the sign-in logs' resourceId)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from weft.posture.core.auditlogs.model import ApiCall, AzureSignIn
from weft.posture.core.chain.trust import matches_action

ARM = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
DATA_SERVICES = {                      # resource app id -> resource provider of its data actions
    "e406a681-f3d4-42a8-90b6-c2b029497af1": "microsoft.storage",       # Azure Storage
    "cfa8b339-82a2-471a-a3c9-0fc0be7a4093": "microsoft.keyvault",      # Azure Key Vault
    "a232010e-820c-4083-83bb-3ace5fc29d0b": "microsoft.documentdb",    # Azure Cosmos DB
}
_BY_NAME = {"azure storage": "microsoft.storage", "azure key vault": "microsoft.keyvault",
            "azure cosmos db": "microsoft.documentdb"}
_ARM_NAMES = {"windows azure service management api", "azure resource manager"}


@dataclass
class AzureUse:
    operations: dict[str, set[str]] = field(default_factory=dict)   # operation -> resource ids
    data_providers: set[str] = field(default_factory=set)           # lower case, from sign-ins
    control_plane: bool = False                                     # an ARM token was issued
    other_resources: set[str] = field(default_factory=set)          # sign-ins to apps weft has no entry for


def azure_use(sign_ins: Iterable[AzureSignIn], calls: Iterable[ApiCall]) -> AzureUse:
    use = AzureUse()
    for s in sign_ins:
        if not s.success:
            continue
        resource, name = s.resource_id.lower(), s.resource_name.lower()
        if resource == ARM or name in _ARM_NAMES:
            use.control_plane = True
        elif provider := DATA_SERVICES.get(resource) or _BY_NAME.get(name):
            use.data_providers.add(provider)
        else:
            use.other_resources.add(s.resource_name or s.resource_id)
    for c in calls:
        if c.success:
            for operation in c.actions:
                use.operations.setdefault(operation, set()).update(c.resources)
    return use


def provider(entry: str) -> str:
    """Microsoft.Storage/storageAccounts/... -> microsoft.storage ("*" for a bare wildcard)."""
    return entry.split("/", 1)[0].lower()


def matches(entry: str, operation: str) -> bool:
    return matches_action(entry, operation)


def granted(entries: Iterable[str], excluded: Iterable[str], operation: str) -> bool:
    return any(matches(e, operation) for e in entries) and not any(matches(n, operation) for n in excluded)


def access_level(entry: str) -> str:
    """Permissions, Write or Read, from the operation's last segment (Azure's read,
    write, delete and action verbs); Permissions for authorization changes and keys."""
    lowered = entry.lower()
    if lowered.startswith("microsoft.authorization/") or "/listkeys/" in lowered or lowered == "*":
        return "Permissions"
    if lowered.endswith("/read"):
        return "Read"
    return "Write"
