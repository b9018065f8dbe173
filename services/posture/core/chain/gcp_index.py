"""GCP bindings and logs indexed for chain lookups, built once: members naming one
service account or one AWS role by that key, every set member apart (few: they are
scanned per account), token exchanges by who exchanged, calls of AWS sessions by pool
and role, token mints by caller, and bindings to each Google service account and those that let a member act as one."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from weft.posture.core.auditlogs.model import GcpAccessTokenMint, GcpTokenExchange
from weft.posture.core.chain.gcp_admission import role_of_session_subject
from weft.posture.core.chain.inventory import Account, Inventory
from weft.posture.core.declarations.model import GcpBinding, GcpMember, MemberScope
from weft.posture.core.model import KubernetesSubject

Grant = tuple[GcpBinding, GcpMember]
_SESSION_PRINCIPAL = re.compile(r"/workloadIdentityPools/(?P<pool>[^/]+)/subject/(?P<subject>arn:aws.*)$")
_SERVICE_ACCOUNT_RESOURCE = re.compile(r"/serviceAccounts/(?P<email>[^/]+)$")


IMPERSONATING_ROLES = ("roles/iam.workloadIdentityUser", "roles/iam.serviceAccountTokenCreator")


def _lists() -> defaultdict:
    return defaultdict(list)


@dataclass
class GcpIndex:
    exact: defaultdict[Account, list[Grant]] = field(default_factory=_lists)
    sets: list[Grant] = field(default_factory=list)
    roles: defaultdict[tuple[str, str], list[Grant]] = field(default_factory=_lists)       # (account, role)
    exchanges: defaultdict[Account, list[GcpTokenExchange]] = field(default_factory=_lists)
    role_exchanges: defaultdict[tuple[str, str], list[GcpTokenExchange]] = field(default_factory=_lists)
    session_calls: defaultdict[tuple[str, str, str], list[str]] = field(default_factory=_lists)  # pool, acct, role
    mints: defaultdict[str, list[GcpAccessTokenMint]] = field(default_factory=_lists)       # by caller
    granted_to: defaultdict[str, list[Grant]] = field(default_factory=_lists)   # serviceAccount:EMAIL members
    granted_on: defaultdict[str, list[tuple[str, GcpBinding]]] = field(default_factory=_lists)  # member -> on EMAIL

    @classmethod
    def build(cls, inventory: Inventory) -> GcpIndex:
        index = cls()
        for binding in inventory.bindings:
            on = _SERVICE_ACCOUNT_RESOURCE.search(binding.resource)
            for member in binding.members:
                if on is not None and binding.role in IMPERSONATING_ROLES:
                    index.granted_on[member.raw].append((on["email"].lower(), binding))
                index._member(binding, member)
        for x in inventory.exchanges:
            index._exchange(x)
        for key in inventory.gcp_calls:
            if (session := _SESSION_PRINCIPAL.search(key)) and (role := role_of_session_subject(session["subject"]))[0]:
                index.session_calls[(session["pool"], *role)].append(key)
        for mint in inventory.mints:
            index.mints[mint.caller].append(mint)
        return index

    def _member(self, binding: GcpBinding, member: GcpMember) -> None:
        grant = (binding, member)
        if member.kubernetes is not None:
            self.exact[(member.kubernetes.namespace, member.kubernetes.service_account)].append(grant)
        elif (role := role_of_session_subject(member.subject or member.attribute.partition("=")[2]))[0]:
            self.roles[role].append(grant)
        elif member.kind == "serviceAccount" and member.email:
            self.granted_to[member.email.lower()].append(grant)
        elif member.pool and member.scope is not MemberScope.ONE:
            self.sets.append(grant)

    def _exchange(self, x: GcpTokenExchange) -> None:
        kubernetes = x.principal.kubernetes if x.principal is not None else None
        if kubernetes is None:
            kubernetes = KubernetesSubject.from_sub(x.subject)
        if kubernetes is not None:
            self.exchanges[(kubernetes.namespace, kubernetes.service_account)].append(x)
        elif (role := role_of_session_subject(x.subject))[0]:
            self.role_exchanges[role].append(x)
