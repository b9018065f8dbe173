"""What declarations say, typed: which Kubernetes service account links to which cloud
identity, what each cloud identity trusts, and what it is granted where.

A chain resolver joins them: service account -> AWS role (IRSA annotation + a trust
statement's `sub` condition, or a Pod Identity association) -> Azure identity
(client-id annotation + a federated credential's issuer/subject) -> GCP principal
(binding members, GSA annotation, pool provider)."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from weft.posture.core.model import Cloud, Declaration, KubernetesSubject

# --- Kubernetes -------------------------------------------------------------------------


class LinkKind(StrEnum):
    IRSA = "irsa"                              # eks.amazonaws.com/role-arn
    AZURE_WORKLOAD_IDENTITY = "azure_workload_identity"   # azure.workload.identity/client-id
    GKE_SERVICE_ACCOUNT = "gke_service_account"  # iam.gke.io/gcp-service-account


@dataclass(frozen=True, kw_only=True)
class ServiceAccountLink(Declaration):
    """One annotation on a ServiceAccount that names a cloud identity."""
    subject: KubernetesSubject
    cloud: Cloud
    kind: LinkKind
    target: str                   # role ARN | client id | GSA email
    options: dict[str, str] = field(default_factory=dict, hash=False)   # audience, tenant-id, ...


@dataclass(frozen=True, kw_only=True)
class WorkloadServiceAccount(Declaration):
    """A pod or pod template and the service account it runs as."""
    kind: str                     # Pod | Deployment | StatefulSet | DaemonSet | Job | CronJob | ReplicaSet
    name: str
    subject: KubernetesSubject
    azure_workload_identity: bool  # label azure.workload.identity/use: "true" on the pod (template)


# --- AWS --------------------------------------------------------------------------------


class Effect(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True)
class AwsPrincipal:
    kind: str                     # AWS | Federated | Service | CanonicalUser | * ("Principal": "*")
    value: str


@dataclass(frozen=True)
class AwsCondition:
    operator: str                 # as written: StringEquals, ForAnyValue:StringLike, ArnLikeIfExists ...
    key: str                      # as written; IAM compares condition keys case-insensitively
    values: tuple[str, ...]


@dataclass(frozen=True)
class PolicyStatement:
    effect: Effect
    sid: str = ""
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    principals: tuple[AwsPrincipal, ...] = ()
    not_principals: tuple[AwsPrincipal, ...] = ()
    conditions: tuple[AwsCondition, ...] = ()

    def conditions_on(self, key: str) -> tuple[AwsCondition, ...]:
        """Conditions on `key`, or on any key ending with `:key` when `key` starts with ':'
        (":sub" finds "oidc.eks.../id/X:sub"); compared case-insensitively as IAM does."""
        key = key.lower()
        if key.startswith(":"):
            return tuple(c for c in self.conditions if c.key.lower().endswith(key))
        return tuple(c for c in self.conditions if c.key.lower() == key)


@dataclass(frozen=True, kw_only=True)
class AwsRole(Declaration):
    """A role: who may assume it (trust) and, when the input carries them, its inline
    permissions and attached managed policy ARNs. `arn` and `name` are "" for a bare
    trust policy document."""
    arn: str
    name: str
    trust: tuple[PolicyStatement, ...]
    permissions: tuple[PolicyStatement, ...] = ()
    attached_policy_arns: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AwsPolicy(Declaration):
    """A permission (identity or resource) policy document. `role_name` is the role it is
    inline in when the input says so (get-role-policy); "" otherwise."""
    name: str
    arn: str
    role_name: str
    statements: tuple[PolicyStatement, ...]


@dataclass(frozen=True, kw_only=True)
class PodIdentityAssociation(Declaration):
    subject: KubernetesSubject    # cluster is the association's clusterName
    role_arn: str
    target_role_arn: str = ""     # cross-account: the role assumed with the first role's session
    association_arn: str = ""
    association_id: str = ""
    session_tags_disabled: bool = False
    external_id: str = ""


# --- Azure ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AzureFederatedCredential(Declaration):
    """A federated identity credential on a user-assigned managed identity (ARM) or an
    app registration (Graph). `identity_name`/`identity_id` name the parent when the
    input says it (ARM id or "identity/credential" name)."""
    name: str
    id: str
    identity_name: str
    identity_id: str
    issuer: str
    subject: str
    audiences: tuple[str, ...]


@dataclass(frozen=True)
class AzurePermission:
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()
    condition: str = ""


@dataclass(frozen=True, kw_only=True)
class AzureRoleDefinition(Declaration):
    id: str
    guid: str                     # the definition's name; assignments refer to it at any scope
    role_name: str
    role_type: str                # BuiltInRole | CustomRole | "" when the input does not say
    permissions: tuple[AzurePermission, ...]
    assignable_scopes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AzureRoleAssignment(Declaration):
    id: str
    scope: str
    principal_id: str             # object id of the service principal / managed identity
    principal_type: str
    role_definition_id: str
    role_definition_guid: str
    role_definition_name: str = ""  # only `az role assignment list` output carries it
    condition: str = ""


# --- GCP --------------------------------------------------------------------------------


class MemberScope(StrEnum):
    """How many identities a member stands for (what federation-gap findings judge)."""
    ONE = "one"                   # a user, a service account, one federated subject or KSA
    GROUP = "group"               # a Google group or a pool's group/attribute set
    NAMESPACE = "namespace"       # every KSA in a namespace
    CLUSTER = "cluster"           # every KSA of one cluster
    POOL = "pool"                 # every identity of a workload identity pool
    DOMAIN = "domain"             # every account of a Workspace domain
    PUBLIC = "public"             # allUsers / allAuthenticatedUsers
    PROJECT_ROLE = "project_role"  # projectOwner:/projectEditor:/projectViewer:


@dataclass(frozen=True)
class GcpMember:
    raw: str
    kind: str                     # user serviceAccount group domain principal principalSet allUsers ...
    scope: MemberScope
    email: str = ""               # user / serviceAccount / group
    project_number: str = ""      # principal:// and principalSet://
    pool: str = ""                # workload identity pool id (PROJECT.svc.id.goog for GKE)
    subject: str = ""             # principal://.../subject/SUBJECT
    kubernetes: KubernetesSubject | None = None  # .../subject/ns/NS/sa/KSA or PROJECT.svc.id.goog[NS/KSA]
    namespace: str = ""           # principalSet://.../namespace/NS
    attribute: str = ""           # principalSet://.../attribute.NAME/VALUE -> "NAME=VALUE"; group/ID -> "group=ID"
    deleted: bool = False


@dataclass(frozen=True)
class GcpCondition:
    expression: str
    title: str = ""
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class GcpBinding(Declaration):
    """One binding of an IAM allow policy. `resource` is the full resource name when the
    input carries it (searchAllIamPolicies results); "" for a bare getIamPolicy output."""
    resource: str
    role: str
    members: tuple[GcpMember, ...]
    condition: GcpCondition | None = None


@dataclass(frozen=True, kw_only=True)
class WorkloadIdentityPoolProvider(Declaration):
    name: str                     # projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/ID
    project_number: str
    pool: str
    provider_id: str
    protocol: str                 # oidc | aws | saml | x509
    attribute_mapping: dict[str, str] = field(default_factory=dict, hash=False)
    attribute_condition: str = ""
    issuer_uri: str = ""          # oidc
    allowed_audiences: tuple[str, ...] = ()  # oidc; empty means the provider's own resource name
    aws_account_id: str = ""      # aws
    disabled: bool = False
