"""The AgentPolicy intent as users write it (YAML, camelCase keys): what one agent may
reach, run, read and write, which syscalls, MCP servers, models and cloud actions it
may use, and the mode (observe, audit, enforce). Field checks live here; checks across
fields and the context targets need are in `validation`."""
from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

API_VERSION = "weft.dev/v1alpha1"
KIND = "AgentPolicy"

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
# exact name, "*." = exactly one more label, "**." = one or more labels
FQDN = re.compile(r"^(\*\*?\.)?([a-z0-9_]([-a-z0-9_]*[a-z0-9])?\.)+[a-z]([-a-z0-9]*[a-z0-9])?$")
ABSOLUTE_PATH = r"^/\S*$"
SYSCALL = r"^[a-z][a-z0-9_]*$"
AWS_ACTION = r"^[a-z0-9-]+:[A-Za-z0-9*?]+$"
AWS_RESOURCE = r"^(\*|arn:(aws|aws-cn|aws-us-gov):[a-z0-9-]+:[a-z0-9-]*:(\d{12}|\*|aws)?:.+|arn:(aws|aws-cn|aws-us-gov):s3:::.+)$"
AZURE_ACTION = r"^[A-Za-z0-9.*-]+(/[A-Za-z0-9.*-]+)+$"
AZURE_SCOPE = r"^/(subscriptions/[0-9a-fA-F-]{36}(/resourceGroups/[-\w._()]+(/providers/.+)?)?|providers/Microsoft\.Management/managementGroups/[-\w.()]+)$"
GCP_ROLE = r"^(roles/[A-Za-z0-9_.]+|projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/roles/[A-Za-z0-9_.]+|organizations/\d+/roles/[A-Za-z0-9_.]+)$"
GCP_PERMISSION = r"^[a-z][a-z0-9]*(\.[a-zA-Z][a-zA-Z0-9]*){2,}$"
GCP_RESOURCE = r"^[a-z][-a-zA-Z0-9_.]*(/[-a-zA-Z0-9_.~%@]+)*(/\*)?$"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


class Metadata(Model):
    name: Annotated[str, Field(pattern=DNS_LABEL, max_length=63)]
    labels: dict[str, str] = {}


class Selector(Model):
    namespace: Annotated[str, Field(pattern=DNS_LABEL, max_length=63)]
    workload: Annotated[str, Field(pattern=DNS_SUBDOMAIN, max_length=253)] | None = None
    service_account: Annotated[str, Field(pattern=DNS_SUBDOMAIN, max_length=253)] | None = None
    pod_labels: dict[str, str] = {}
    clusters: list[Annotated[str, Field(pattern=DNS_SUBDOMAIN)]] | None = None


class AwsCluster(Model):
    name: Annotated[str, Field(pattern=DNS_SUBDOMAIN)]
    provider: Literal["aws"]
    account_id: Annotated[str, Field(pattern=r"^\d{12}$")] | None = None
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")] | None = None
    oidc_issuer: Annotated[str, Field(pattern=r"^https://[^\s/]+(/[^\s]*)?$")] | None = None


class AzureCluster(Model):
    name: Annotated[str, Field(pattern=DNS_SUBDOMAIN)]
    provider: Literal["azure"]
    tenant_id: Annotated[str, Field(pattern=r"^[0-9a-fA-F-]{36}$")] | None = None
    subscription_id: Annotated[str, Field(pattern=r"^[0-9a-fA-F-]{36}$")] | None = None
    oidc_issuer: Annotated[str, Field(pattern=r"^https://[^\s/]+(/[^\s]*)?$")] | None = None


class GcpCluster(Model):
    name: Annotated[str, Field(pattern=DNS_SUBDOMAIN)]
    provider: Literal["gcp"]
    project_id: Annotated[str, Field(pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")] | None = None
    project_number: Annotated[str, Field(pattern=r"^\d{6,20}$")] | None = None


Cluster = Annotated[Union[AwsCluster, AzureCluster, GcpCluster], Field(discriminator="provider")]
PROVIDERS = ("aws", "azure", "gcp")


class PortRange(Model):
    port: Annotated[int, Field(ge=1, le=65535)]
    end_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    protocol: Literal["TCP", "UDP"] = "TCP"


def _port_shorthand(values: Any) -> Any:
    """443 and "8000-8100" are shorthands for {port: 443} and {port: 8000, endPort: 8100}."""
    if not isinstance(values, list):
        return values
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool):
            raise ValueError(f"item {i}: expected a port number, a range like 8000-8100, or "
                             "{port, endPort, protocol}")
        if isinstance(v, int):
            v = {"port": v}
        elif isinstance(v, str):
            m = re.fullmatch(r"(\d{1,5})(?:-(\d{1,5}))?", v.strip())
            if not m:
                raise ValueError(f"item {i}: {v!r} is not a port; expected a number, a range like "
                                 "8000-8100, or {port, endPort, protocol}")
            v = {"port": int(m[1]), **({"endPort": int(m[2])} if m[2] else {})}
        out.append(v)
    return out


class EgressRule(Model):
    fqdns: list[str] = []
    cidrs: list[str] = []
    ports: Annotated[list[PortRange], BeforeValidator(_port_shorthand)] = []

    @field_validator("fqdns")
    @classmethod
    def _fqdns(cls, values: list[str]) -> list[str]:
        for v in values:
            if not FQDN.match(v.lower().rstrip(".")):
                raise ValueError(f"{v!r} is not a domain name: expected a name like api.example.com, "
                                 "or *.example.com (one label more), or **.example.com (any depth)")
        return [v.lower().rstrip(".") for v in values]

    @field_validator("cidrs")
    @classmethod
    def _cidrs(cls, values: list[str]) -> list[str]:
        for v in values:
            try:
                ipaddress.ip_network(v, strict=True)
            except ValueError as e:
                hint = ""
                if "host bits set" in str(e):
                    hint = f" (did you mean {ipaddress.ip_network(v, strict=False)}?)"
                raise ValueError(f"{v!r} is not a CIDR block: {e}{hint}") from None
        return values


class FileAccess(Model):
    read: list[Annotated[str, Field(pattern=ABSOLUTE_PATH)]] = []
    write: list[Annotated[str, Field(pattern=ABSOLUTE_PATH)]] = []


class McpServer(Model):
    server: Annotated[str, Field(pattern=DNS_SUBDOMAIN)]
    url: Annotated[str, Field(pattern=r"^(https?)://[^\s/:]+(:\d{1,5})?(/\S*)?$")]
    tools: list[Annotated[str, Field(min_length=1)]] = []


class ModelEndpoint(Model):
    name: Annotated[str, Field(min_length=1)]
    endpoint: Annotated[str, Field(pattern=r"^(https?)://[^\s/:]+(:\d{1,5})?(/\S*)?$")] | None = None


def _model_shorthand(values: Any) -> Any:
    """"openai/gpt-4o" is a shorthand for {name: openai/gpt-4o}."""
    return [{"name": v} if isinstance(v, str) else v for v in values] if isinstance(values, list) else values


class AwsGrant(Model):
    actions: Annotated[list[Annotated[str, Field(pattern=AWS_ACTION)]], Field(min_length=1)]
    resources: Annotated[list[Annotated[str, Field(pattern=AWS_RESOURCE)]], Field(min_length=1)]


class AwsSection(Model):
    account_id: Annotated[str, Field(pattern=r"^\d{12}$")] | None = None
    role_name: Annotated[str, Field(pattern=r"^[\w+=,.@-]{1,64}$")] | None = None
    allow: list[AwsGrant] = []


class AzureGrant(Model):
    actions: list[Annotated[str, Field(pattern=AZURE_ACTION)]] = []
    data_actions: list[Annotated[str, Field(pattern=AZURE_ACTION)]] = []
    scopes: Annotated[list[Annotated[str, Field(pattern=AZURE_SCOPE)]], Field(min_length=1)]


class AzureSection(Model):
    identity_name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$")] | None = None
    tenant_id: Annotated[str, Field(pattern=r"^[0-9a-fA-F-]{36}$")] | None = None
    allow: list[AzureGrant] = []


class GcpGrant(Model):
    roles: list[Annotated[str, Field(pattern=GCP_ROLE)]] = []
    permissions: list[Annotated[str, Field(pattern=GCP_PERMISSION)]] = []
    resources: list[Annotated[str, Field(pattern=GCP_RESOURCE)]] = []
    project: Annotated[str, Field(pattern=r"^\d{6,20}$")] | None = None


class GcpSection(Model):
    project_id: Annotated[str, Field(pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")] | None = None
    project_number: Annotated[str, Field(pattern=r"^\d{6,20}$")] | None = None
    service_account: Annotated[str, Field(pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]@[a-z][-a-z0-9]+\.iam\.gserviceaccount\.com$")] | None = None
    allow: list[GcpGrant] = []


class Cloud(Model):
    aws: AwsSection | None = None
    azure: AzureSection | None = None
    gcp: GcpSection | None = None


class Spec(Model):
    mode: Literal["observe", "audit", "enforce"] = "observe"
    selector: Selector
    clusters: list[Cluster] = []
    egress: list[EgressRule] = []
    executables: list[Annotated[str, Field(pattern=ABSOLUTE_PATH)]] = []
    files: FileAccess = FileAccess()
    syscalls: list[Annotated[str, Field(pattern=SYSCALL)]] = []
    mcp: list[McpServer] = []
    models: Annotated[list[ModelEndpoint], BeforeValidator(_model_shorthand)] = []
    cloud: Cloud = Cloud()


class AgentPolicyDocument(Model):
    api_version: Literal["weft.dev/v1alpha1"]
    kind: Literal["AgentPolicy"]
    metadata: Metadata
    spec: Spec
