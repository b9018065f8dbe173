"""What is deployed, and where: the documents exported from clusters and clouds, in the
targets' own formats and any layout, each recognised as a target by its content
(Kubernetes objects by the apiVersion group and kind their compiler declares; cloud
documents by the keys only their format has), cleaned of what the server adds, named the
way its provider names the resource, and placed: Kubernetes objects at the cluster a
directory or file of their path is named after, cloud documents at their cloud. And the
values in them recognised the way the intent reads its own (a name, an address block, a
path, a port, an action), to ask what each deployed value allows."""
from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from weft.enforce.compilers import aws_common, azure_common
from weft.enforce.compilers.azure_role import AzureRoleCompiler
from weft.enforce.compilers.base import load_all
from weft.enforce.core import compilation, ir, nearmiss, sensorpolicy
from weft.enforce.core import intent as syntax
from weft.enforce.core.questions import Case, Syscall

SUFFIXES = (".yaml", ".yml", ".json")
KUBERNETES = "kubernetes"  # the provider of a cluster the files do not name
# what the API server adds to an object it returns: never part of what was applied
SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
CLOUD_OF_SCHEMA = {"aws": "aws", "eks": "aws", "azure": "azure", "gcp": "gcp", "gke": "gcp"}
PROBE = "deployed:"  # the origin of a question about a deployed value: deployed:<value>


class DeployedError(Exception):
    """A deployed file that cannot be read; the message names it."""


@dataclass(frozen=True)
class Place:
    provider: str  # aws, azure, gcp, or kubernetes
    cluster: str | None = None  # None: the cloud account or project, or a cluster the files do not name

    @property
    def order(self) -> tuple[str, str]:
        return self.provider, self.cluster or ""

    def __str__(self) -> str:
        return f"{self.cluster} ({self.provider})" if self.cluster else self.provider


@dataclass(frozen=True)
class Deployed:
    file: str  # relative to the deployed directory
    index: int  # the document's number in its file, from 1
    target: str
    resource: str
    place: Place
    document: dict

    @property
    def where(self) -> str:
        return f"{self.file}#{self.index}"


@dataclass(frozen=True)
class Ignored:
    file: str
    index: int
    reason: str


def read_dir(root: Path) -> list[tuple[str, list]]:
    """(path relative to root, its documents) for every YAML and JSON file below root."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.suffix in SUFFIXES and p.is_file()):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        try:
            found.append((relative.as_posix(), compilation.read(path)))
        except (OSError, ValueError, yaml.YAMLError) as e:
            raise DeployedError(f"{path}: cannot read: {e}") from None
    return found


def recognise(files: list[tuple[str, list]], policy: ir.Policy,
              targets: Iterable[str] | None = None) -> tuple[list[Deployed], list[Ignored]]:
    """Each document as a deployed resource of its target, or ignored and why (not a target's
    document, or of a target outside `targets` when they are given)."""
    wanted = set(targets) if targets is not None else None
    deployed, ignored = [], []
    for file, documents in files:
        for index, doc in enumerate(_flattened(documents), 1):
            if not isinstance(doc, dict):
                ignored.append(Ignored(file, index, "not an object"))
                continue
            formats = [f for f in _formats() if f.matches(doc)]
            if len(formats) != 1:
                reason = (f"looks like several targets: {', '.join(f.target for f in formats)}" if formats
                          else "not a document of any target weft compiles")
                ignored.append(Ignored(file, index, reason))
                continue
            fmt, doc = formats[0], formats[0].clean(doc)
            if wanted is not None and fmt.target not in wanted:
                ignored.append(Ignored(file, index, f"a {fmt.target} document; that target is not selected"))
                continue
            deployed.append(Deployed(file, index, fmt.target, fmt.name(doc, policy), place(fmt, file, policy), doc))
    return deployed, ignored


def name(target: str, doc: dict, policy: ir.Policy) -> str:
    """How the provider names the resource a document of `target` is."""
    return next(f for f in _formats() if f.target == target).name(doc, policy)


def placement(target: str) -> tuple[str | None, bool]:
    """(the cloud a target belongs to, or None; whether its documents live in a cluster)."""
    fmt = next(f for f in _formats() if f.target == target)
    return fmt.cloud, fmt.in_cluster


def place(fmt: Format, file: str, policy: ir.Policy) -> Place:
    """A cloud document at its cloud; a Kubernetes object at the intent's cluster that a
    directory or file of its path is named after (the last such), else at its provider."""
    if not fmt.in_cluster:
        return Place(fmt.cloud)
    parts = [Path(p).stem for p in Path(file).parts]
    named = [c for part in parts for c in policy.clusters if c.name == part]
    if named:
        return Place(fmt.cloud or named[-1].provider, named[-1].name)
    return Place(fmt.cloud or KUBERNETES)


def _flattened(documents: list) -> list:
    """A Kubernetes `List` (what `kubectl get -o yaml` prints) is its items."""
    out = []
    for doc in documents:
        is_list = isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list)
        out += doc["items"] if is_list else [doc]
    return out


@dataclass(frozen=True)
class Format:
    target: str
    cloud: str | None
    in_cluster: bool
    matches: Callable[[dict], bool]
    name: Callable[[dict, ir.Policy], str]
    clean: Callable[[dict], dict] = lambda doc: doc


@lru_cache(maxsize=1)
def _formats() -> tuple[Format, ...]:
    registry = load_all()
    formats = []
    for target in registry.names():
        cls = registry.get(target)
        cloud = CLOUD_OF_SCHEMA.get(cls.schema.split("/")[0])
        if getattr(cls, "kind", None) and getattr(cls, "api_version", None):
            formats.append(_kube(target, cloud, cls.api_version, cls.kind))
        elif target == "sensor":
            formats.append(_kube(target, None, sensorpolicy.API_VERSION, sensorpolicy.KIND))
        elif target in CLOUD:
            matches, namer = CLOUD[target]
            formats.append(Format(target, cloud, False, matches, namer, CLEAN.get(target, lambda doc: doc)))
    return tuple(formats)


def _group(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def _kube(target: str, cloud: str | None, api_version: str, kind: str) -> Format:
    def matches(doc: dict) -> bool:
        return doc.get("kind") == kind and _group(str(doc.get("apiVersion", ""))) == _group(api_version)
    return Format(target, cloud, True, matches, _kube_name, _without_server_fields)


def _kube_name(doc: dict, policy: ir.Policy) -> str:
    meta = doc.get("metadata") or {}
    return "/".join(str(p) for p in (doc.get("kind"), meta.get("namespace"), meta.get("name")) if p)


def _without_server_fields(doc: dict) -> dict:
    doc = {k: v for k, v in doc.items() if k != "status"}
    meta = {k: v for k, v in (doc.get("metadata") or {}).items() if k not in SERVER_METADATA}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    meta.pop("annotations", None)
    if annotations:
        meta["annotations"] = annotations
    return {**doc, "metadata": meta} if "metadata" in doc else doc


def _statements(doc: dict) -> list:
    st = doc.get("Statement")
    return [s for s in (st if isinstance(st, list) else [st]) if isinstance(s, dict)] if st else []


def _federated(st: dict) -> bool:
    principal = st.get("Principal")
    federated = principal.get("Federated", "") if isinstance(principal, dict) else ""
    return any(":oidc-provider/" in p for p in (federated if isinstance(federated, list) else [federated]))


def _role(policy: ir.Policy) -> str:
    return aws_common.role_arn(policy.aws) if policy.aws and policy.aws.account_id else "the agent's role"


def _credential(doc: dict, policy: ir.Policy) -> str:
    """ARM names a child resource `parent/child`, in a template as [format('{0}/{1}', 'a', 'b')]."""
    raw = str(doc.get("name", ""))
    parts = raw.split("'")[3::2] if raw.startswith("[format(") else raw.split("/")
    return "federatedIdentityCredentials/" + "/".join(parts)


def _type(doc: dict) -> str:
    return str(doc.get("type", "")).lower()


CLOUD: dict[str, tuple[Callable[[dict], bool], Callable[[dict, ir.Policy], str]]] = {
    "aws_boundary": (lambda d: bool(_statements(d)) and not any("Principal" in s or "NotPrincipal" in s
                                                                for s in _statements(d)),
                     lambda d, p: f"{_role(p)} permissions boundary"),
    "aws_irsa": (lambda d: any(_federated(s) for s in _statements(d)), lambda d, p: f"{_role(p)} trust policy"),
    "aws_pod_identity": (lambda d: {"clusterName", "namespace", "serviceAccount", "roleArn"} <= d.keys(),
                         lambda d, p: f"pod identity association {d['clusterName']}/{d['namespace']}/"
                                      f"{d['serviceAccount']}"),
    "azure_federated": (lambda d: _type(d) == azure_common.FEDERATED_CREDENTIAL_TYPE.lower(), _credential),
    "azure_role": (lambda d: _type(d) == AzureRoleCompiler.resource_type.lower(),
                   lambda d, p: f"roleDefinitions/{(d.get('properties') or {}).get('roleName', d.get('name'))}"),
    "azure_policy": (lambda d: isinstance(d.get("properties"), dict) and "policyRule" in d["properties"],
                     lambda d, p: f"policyDefinitions/{d.get('name')}"),
    "gcp_binding": (lambda d: isinstance(d.get("bindings"), list), lambda d, p: "IAM allow policy"),
    "gcp_role": (lambda d: "includedPermissions" in d, lambda d, p: str(d.get("name"))),
    "gcp_vpcsc": (lambda d: "egressTo" in d or "egressFrom" in d,
                  lambda d, p: f"egress policy {d.get('title', '')!r} "
                               f"({'roles' if 'roles' in (d.get('egressTo') or {}) else 'operations'})"),
}
CLEAN: dict[str, Callable[[dict], dict]] = {
    "gcp_binding": lambda doc: {k: v for k, v in doc.items() if k != "etag"},  # changes on every write
}


def probed(case: Case) -> str | None:
    """The deployed value a question is about; None when it is about the intent."""
    return case.origin.removeprefix(PROBE) if case.origin.startswith(PROBE) else None


def probes(policy: ir.Policy, values: list[Any]) -> list[Case]:
    """Questions about what deployed values allow, each value read as the intent reads its
    own: a name, an address block, a path, a syscall, a cloud action, role or permission,
    or a port (asked on the intent's own names and blocks)."""
    leaves = sorted(set(_leaves(values)), key=lambda v: (isinstance(v, str), str(v)))
    ports = tuple(sorted({p for item in policy.hosts + policy.networks for p in item.ports},
                         key=lambda p: (p.first, p.last, p.protocol)))
    hosts, networks, paths = [], [], []
    for v in leaves:
        origin = f"{PROBE}{v}"
        if _host(v):
            hosts.append(ir.HostAllow(v.lower().rstrip("."), ports, origin))
        if _network(v):
            networks.append(ir.NetworkAllow(ipaddress.ip_network(v, strict=False), ports, origin))
        if _port(v):
            on = tuple(ir.PortRange(int(v), int(v), proto) for proto in ("TCP", "UDP"))
            hosts += [ir.HostAllow(h.pattern, on, origin) for h in policy.hosts]
            networks += [ir.NetworkAllow(n.network, on, origin) for n in policy.networks]
        if isinstance(v, str) and re.match(syntax.ABSOLUTE_PATH, v):
            paths.append(ir.PathAllow(v, v.endswith("/"), origin, write=True))
    words = [v for v in leaves if isinstance(v, str)]
    widened = replace(policy, hosts=policy.hosts + tuple(hosts), networks=policy.networks + tuple(networks),
                      executables=policy.executables + tuple(paths), files=policy.files + tuple(paths),
                      **_cloud_grants(policy, words))
    syscalls = [Case(Syscall(w), f"{PROBE}{w}", "", "a syscall deployed") for w in words
                if len(w) < 32 and re.match(syntax.SYSCALL, w)]
    return [c for c in nearmiss.cases(widened) if probed(c) is not None] + syscalls


def _cloud_grants(policy: ir.Policy, words: list[str]) -> dict[str, Any]:
    """The policy's cloud sections with one more grant per deployed action, role or permission."""
    out: dict[str, Any] = {}
    if policy.aws:
        resources = tuple(dict.fromkeys(r for g in policy.aws.grants for r in g.resources)) or ("*",)
        grants = tuple(ir.AwsGrant((w,), resources, PROBE + w) for w in words if re.match(syntax.AWS_ACTION, w))
        out["aws"] = replace(policy.aws, grants=policy.aws.grants + grants)
    scopes = tuple(dict.fromkeys(s for g in policy.azure.grants for s in g.scopes)) if policy.azure else ()
    if policy.azure and scopes:
        grants = tuple(ir.AzureGrant((w,), (w,), scopes, PROBE + w) for w in words
                       if re.match(syntax.AZURE_ACTION, w) and w.lower().startswith("microsoft."))
        out["azure"] = replace(policy.azure, grants=policy.azure.grants + grants)
    if policy.gcp:
        projects = [p for p in dict.fromkeys([g.project for g in policy.gcp.grants] + [policy.gcp.project_number]) if p]
        roles = [w for w in words if re.match(syntax.GCP_ROLE, w)]
        permissions = [w for w in words if re.match(syntax.GCP_PERMISSION, w)]
        grants = tuple(ir.GcpGrant((w,), (), (), p, PROBE + w) for w in roles for p in projects)
        grants += tuple(ir.GcpGrant((), (w,), (), p, PROBE + w) for w in permissions for p in projects)
        out["gcp"] = replace(policy.gcp, grants=policy.gcp.grants + grants)
    return out


def _leaves(value: Any) -> Iterable[Any]:
    """Every string and number in a value, JSON documents carried as strings included."""
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    elif isinstance(value, str) and value[:1] in "{[":
        try:
            yield from _leaves(json.loads(value))
        except ValueError:
            yield value
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        yield value


def _host(v: Any) -> bool:
    return isinstance(v, str) and bool(syntax.FQDN.match(v.lower().rstrip(".")))


def _network(v: Any) -> bool:
    if not isinstance(v, str) or not ("." in v or ":" in v):
        return False
    try:
        ipaddress.ip_network(v, strict=False)
    except ValueError:
        return False
    return True


def _port(v: Any) -> bool:
    return (isinstance(v, int) or (isinstance(v, str) and v.isdigit())) and 0 < int(v) < 65536
