"""What cloud audit logs say was used, typed: role sessions started (and how), API calls
made with them in each provider's permission vocabulary, Entra sign-ins, GCP token
exchanges and access-token mints.

Join keys for what comes next: an AWS session's access key id (issued in the
RoleAssumption, used in every ApiCall), its session ARN, the role ARN; an Entra app /
service principal id; a GCP principal (member syntax) and service account email."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from weft.posture.core.declarations.model import GcpMember
from weft.posture.core.model import KubernetesSubject, Observation


class AssumptionMethod(StrEnum):
    IRSA = "irsa"                  # AssumeRoleWithWebIdentity with an EKS OIDC issuer and a KSA subject
    POD_IDENTITY = "pod_identity"  # AssumeRole invoked by pods.eks.amazonaws.com, with session tags
    WEB_IDENTITY = "web_identity"  # AssumeRoleWithWebIdentity from any other OIDC issuer
    SAML = "saml"                  # AssumeRoleWithSAML
    AWS_SERVICE = "aws_service"    # AssumeRole invoked by another AWS service (EC2, Lambda, ...)
    ROLE = "role"                  # AssumeRole by an IAM principal (role chaining, users)


@dataclass(frozen=True, kw_only=True)
class RoleAssumption(Observation):
    """An STS call that started (or tried to start) a role session."""
    method: AssumptionMethod
    role_arn: str
    session_name: str
    session_arn: str = ""          # arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION (from the response)
    access_key_id: str = ""        # of the issued credentials: later ApiCalls carry it
    kubernetes: KubernetesSubject | None = None  # IRSA: token subject; Pod Identity: session tags
    pod_name: str = ""
    identity_provider: str = ""    # IRSA / web identity: the OIDC provider ARN (or issuer)
    audience: str = ""
    caller: str = ""               # the principal that called STS (ARN, service, or federated user)
    session_tags: dict[str, str] = field(default_factory=dict, hash=False)
    source_identity: str = ""
    account: str = ""
    error_code: str = ""


@dataclass(frozen=True, kw_only=True)
class ApiCall(Observation):
    """One API call by a principal. `actions` are permissions in the provider's own
    vocabulary (AWS "s3:GetObject", GCP "storage.objects.get"), empty where not derivable."""
    principal: str                 # AWS: caller ARN; GCP: principalEmail or principalSubject
    service: str                   # AWS eventSource / GCP serviceName
    operation: str                 # AWS eventName / GCP methodName, as logged
    actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    role_arn: str = ""             # AWS: the role the session belongs to
    access_key_id: str = ""
    federated_provider: str = ""   # AWS: webIdFederationData.federatedProvider (IRSA sessions)
    account: str = ""              # AWS account / GCP project
    error_code: str = ""

    @property
    def action(self) -> str | None:
        return self.actions[0] if self.actions else None


@dataclass(frozen=True, kw_only=True)
class AzureSignIn(Observation):
    """An Entra sign-in (service principal, managed identity or user) to a resource."""
    category: str                  # ServicePrincipalSignInLogs | ManagedIdentitySignInLogs | ...
    app_id: str                    # the client id (what azure.workload.identity/client-id names)
    service_principal_id: str = ""
    service_principal_name: str = ""
    managed_identity: bool = False
    managed_identity_type: str = ""     # userAssigned | systemAssigned when the log says
    credential_type: str = ""      # clientCredentialType: federatedIdentityCredential, clientSecret, ...
    federated_credential_id: str = ""
    resource_id: str = ""          # the resource's app id
    resource_name: str = ""
    resource_service_principal_id: str = ""
    user: str = ""                 # user sign-ins: the user principal name
    tenant_id: str = ""
    status_code: int = 0
    failure_reason: str = ""


@dataclass(frozen=True, kw_only=True)
class AzureDirectoryChange(Observation):
    """An Entra audit log entry (Application Management and the like): who changed what."""
    category: str
    operation: str
    initiated_by: str
    targets: tuple[str, ...] = ()  # "TYPE:ID (DISPLAY NAME)"


@dataclass(frozen=True, kw_only=True)
class GcpTokenExchange(Observation):
    """An STS ExchangeToken: an external token traded for a federated one."""
    provider: str                  # projects/N/locations/global/workloadIdentityPools/P/providers/X
    project_number: str
    pool: str
    provider_id: str
    subject: str                   # the external token's subject (an AWS ARN, an Azure object id, a sub)
    principal: GcpMember | None = None   # metadata.mapped_principal, parsed
    audience: str = ""
    subject_token_type: str = ""
    status_code: int = 0


@dataclass(frozen=True, kw_only=True)
class GcpAccessTokenMint(Observation):
    """An IAM Credentials call that mints a token (or signs) as a service account."""
    method: str                    # GenerateAccessToken | GenerateIdToken | SignJwt | SignBlob
    caller: str                    # principalSubject or principalEmail as logged
    caller_member: GcpMember | None = None
    service_account: str           # the target service account (email, or unique id)
    delegation_chain: tuple[str, ...] = ()
    status_code: int = 0
