"""Kubernetes objects in an OCSF finding. OCSF 1.7 has no Kubernetes object, so weft
writes each one (cluster, namespace, pod, workload, service account) as a `resources`
entry whose `type` is "Kubernetes <Kind>" and whose `namespace` is its namespace; every
adapter writes them this way and `signals` reads them back without knowing the vendor."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from weft.detect.core import ocsf

TYPE_PREFIX = "Kubernetes "
CLUSTER, NAMESPACE, POD, SERVICE_ACCOUNT, NODE = "Cluster", "Namespace", "Pod", "ServiceAccount", "Node"
WORKLOAD_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob",
                  "ReplicationController")
_KINDS = {k.lower(): k for k in (CLUSTER, NAMESPACE, POD, SERVICE_ACCOUNT, NODE, *WORKLOAD_KINDS)}
_SERVICE_ACCOUNT_USER = "system:serviceaccount:"


@dataclass(frozen=True)
class K8sObject:
    kind: str              # Cluster, Namespace, Pod, ServiceAccount, Deployment, ...
    name: str
    namespace: str = ""
    uid: str = ""
    role_id: int = 0       # OCSF resource role: 1 Target, 2 Actor, 3 Affected, 4 Related

    @property
    def is_workload(self) -> bool:
        return self.kind in WORKLOAD_KINDS


@lru_cache(maxsize=512)
def kind(word: str) -> str:
    """A Kubernetes kind in its canonical spelling: "PODS" and "pod" are "Pod"."""
    key = word.strip().lower().replace("-", "").replace("_", "")
    if key not in _KINDS and key.endswith("s"):
        key = key[:-1]
    return _KINDS.get(key, word.strip())


def cluster(name: str | None, *, uid: str | None = None, region: str | None = None,
            role_id: int | None = None) -> dict | None:
    return ocsf.resource(name=name, uid=uid, type=TYPE_PREFIX + CLUSTER, region=region, role_id=role_id)


def k8s_object(kind_word: str, name: str | None, *, namespace: str | None = None, uid: str | None = None,
               labels: dict | None = None, role_id: int | None = None) -> dict | None:
    if not name:
        return None
    return ocsf.resource(name=name, uid=uid, type=TYPE_PREFIX + kind(kind_word), namespace=namespace,
                         labels=labels, role_id=role_id)


def service_account_of(username: str | None) -> tuple[str, str] | None:
    """(namespace, name) when a Kubernetes username is a service account's."""
    if not username or not username.startswith(_SERVICE_ACCOUNT_USER):
        return None
    namespace, _, name = username[len(_SERVICE_ACCOUNT_USER):].partition(":")
    return (namespace, name) if namespace and name else None


def service_account_user(username: str | None, role_id: int) -> dict | None:
    """The service account a Kubernetes username ("system:serviceaccount:ns:name") is, as a resource."""
    found = service_account_of(username)
    return k8s_object(SERVICE_ACCOUNT, found[1], namespace=found[0], role_id=role_id) if found else None


def read(resource: dict) -> K8sObject | None:
    """The Kubernetes object a `resources` entry describes, or None for any other resource."""
    type_ = resource.get("type")
    if not (isinstance(type_, str) and type_.startswith(TYPE_PREFIX)):
        return None
    name = resource.get("name") or resource.get("uid")
    if not isinstance(name, str):
        return None
    return K8sObject(type_[len(TYPE_PREFIX):], name, resource.get("namespace") or "",
                     resource.get("uid") or "", resource.get("role_id") or 0)


def labels_from(pairs: object, separator: str = "=") -> dict[str, str]:
    """Labels given as a mapping, as "key=value" strings or as [{name, value}] pairs."""
    if isinstance(pairs, dict):
        return {str(k): str(v) for k, v in pairs.items()}
    out: dict[str, str] = {}
    for item in pairs if isinstance(pairs, list) else ():
        if isinstance(item, str) and separator in item:
            key, _, value = item.partition(separator)
            out[key] = value
        elif isinstance(item, dict) and "name" in item:
            out[str(item["name"])] = str(item.get("value", ""))
    return out
