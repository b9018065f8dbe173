"""Every declaration and observation indexed once by the keys chains are joined on:
service account (namespace, name), role ARN, access key id, Entra client id and object
id, GCP member and principal. Building it is one pass; every lookup after is a dict."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Iterable

from weft.posture.core.auditlogs.model import (ApiCall, AzureSignIn, GcpAccessTokenMint, GcpTokenExchange,
                                               RoleAssumption)
from weft.posture.core.declarations.model import (AwsPolicy, AwsRole, AzureFederatedCredential,
                                                  AzureRoleAssignment, AzureRoleDefinition, GcpBinding,
                                                  PodIdentityAssociation, ServiceAccountLink,
                                                  WorkloadIdentityPoolProvider, WorkloadServiceAccount)
from weft.posture.core.model import Cloud, Declaration, Observation

Account = tuple[str, str]          # (namespace, service account)


def _lists() -> defaultdict:
    return defaultdict(list)


@dataclass
class Inventory:
    # declarations
    annotations: defaultdict[Account, list[ServiceAccountLink]] = field(default_factory=_lists)
    workloads: defaultdict[Account, list[WorkloadServiceAccount]] = field(default_factory=_lists)
    roles: defaultdict[str, list[AwsRole]] = field(default_factory=_lists)              # by ARN
    policies_by_role: defaultdict[str, list[AwsPolicy]] = field(default_factory=_lists)  # by role name
    policies_by_arn: defaultdict[str, list[AwsPolicy]] = field(default_factory=_lists)
    associations: defaultdict[Account, list[PodIdentityAssociation]] = field(default_factory=_lists)
    credentials: list[AzureFederatedCredential] = field(default_factory=list)
    assignments: defaultdict[str, list[AzureRoleAssignment]] = field(default_factory=_lists)  # by object id
    definitions: dict[str, AzureRoleDefinition] = field(default_factory=dict)          # by GUID, lower case
    bindings: list[GcpBinding] = field(default_factory=list)
    providers: list[WorkloadIdentityPoolProvider] = field(default_factory=list)
    # observations
    assumptions: defaultdict[Account, list[RoleAssumption]] = field(default_factory=_lists)
    aws_calls_by_key: defaultdict[str, list[ApiCall]] = field(default_factory=_lists)
    aws_calls_by_role: defaultdict[str, list[ApiCall]] = field(default_factory=_lists)
    sign_ins: defaultdict[str, list[AzureSignIn]] = field(default_factory=_lists)      # by client id, lower
    azure_calls: defaultdict[str, list[ApiCall]] = field(default_factory=_lists)       # by principal, lower
    exchanges: list[GcpTokenExchange] = field(default_factory=list)
    gcp_calls: defaultdict[str, list[ApiCall]] = field(default_factory=_lists)         # by principal
    mints: list[GcpAccessTokenMint] = field(default_factory=list)
    first: datetime | None = None                  # the observation window, by event time
    last: datetime | None = None

    @classmethod
    def build(cls, declarations: Iterable[Declaration], observations: Iterable[Observation]) -> Inventory:
        inventory = cls()
        for item in declarations:
            inventory._declare(item)
        for item in observations:
            inventory._observe(item)
        return inventory

    def _declare(self, d: Declaration) -> None:
        match d:
            case ServiceAccountLink():
                self.annotations[_account(d.subject)].append(d)
            case WorkloadServiceAccount():
                self.workloads[_account(d.subject)].append(d)
            case AwsRole():
                self.roles[d.arn].append(d)
            case AwsPolicy():
                if d.role_name:
                    self.policies_by_role[d.role_name].append(d)
                if d.arn:
                    self.policies_by_arn[d.arn].append(d)
            case PodIdentityAssociation():
                self.associations[_account(d.subject)].append(d)
            case AzureFederatedCredential():
                self.credentials.append(d)
            case AzureRoleAssignment():
                self.assignments[d.principal_id.lower()].append(d)
            case AzureRoleDefinition():
                self.definitions[d.guid.lower()] = d
            case GcpBinding():
                self.bindings.append(d)
            case WorkloadIdentityPoolProvider():
                self.providers.append(d)

    def _observe(self, o: Observation) -> None:
        if self.first is None or o.time < self.first:
            self.first = o.time
        if self.last is None or o.time > self.last:
            self.last = o.time
        match o:
            case RoleAssumption() if o.kubernetes is not None:
                self.assumptions[_account(o.kubernetes)].append(o)
            case ApiCall() if o.cloud is Cloud.AWS:
                if o.access_key_id:
                    self.aws_calls_by_key[o.access_key_id].append(o)
                if o.role_arn:
                    self.aws_calls_by_role[o.role_arn].append(o)
            case ApiCall() if o.cloud is Cloud.AZURE:
                self.azure_calls[o.principal.lower()].append(o)
            case ApiCall() if o.cloud is Cloud.GCP:
                self.gcp_calls[o.principal].append(o)
            case AzureSignIn() if o.app_id:
                self.sign_ins[o.app_id.lower()].append(o)
            case GcpTokenExchange():
                self.exchanges.append(o)
            case GcpAccessTokenMint():
                self.mints.append(o)

    @cached_property
    def credentials_by_subject(self) -> dict[str, list[AzureFederatedCredential]]:
        found: dict[str, list[AzureFederatedCredential]] = {}
        for c in self.credentials:
            found.setdefault(c.subject, []).append(c)
        return found

    @cached_property
    def _session_keys(self) -> frozenset[str]:
        return frozenset(a.access_key_id for found in self.assumptions.values() for a in found if a.access_key_id)

    def session_keys(self) -> frozenset[str]:
        """Access keys of every session start the logs attribute to a service account."""
        return self._session_keys


def _account(subject) -> Account:
    return subject.namespace, subject.service_account
