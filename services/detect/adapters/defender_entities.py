"""Defender for Cloud alert `Entities` as OCSF resources and evidences.

Entities are serialised with JSON.NET reference preservation: an object is written in
full once with a `$id`, and everywhere else as {"$ref": "<id>"}. Ids are reused across
entities in real exports, so a reference means the nearest definition before it in
document order (one after it when there is none before); a reference to nothing is
dropped. Field names are matched case-insensitively: the continuous export writes
PascalCase, the ARM API camelCase.
"""
from __future__ import annotations

from typing import Any, Callable

from weft.detect.core import kubernetes, ocsf
from weft.detect.core.fields import integer, millis, text


class References:
    """Resolves {"$ref": id} objects in one alert to the objects they point at."""

    def __init__(self, document: Any):
        self._ids: dict[str, dict] = {}
        self._targets: dict[int, dict] = {}
        self._lowered: dict[int, dict] = {}
        pending: list[dict] = []
        self._walk(document, pending)
        for ref in pending:
            target = self._ids.get(str(ref["$ref"]))
            if target is not None:
                self._targets[id(ref)] = target

    def _walk(self, value: Any, pending: list[dict]) -> None:
        if isinstance(value, list):
            for item in value:
                self._walk(item, pending)
        elif isinstance(value, dict):
            if "$ref" in value:
                target = self._ids.get(str(value["$ref"]))
                if target is None:
                    pending.append(value)
                else:
                    self._targets[id(value)] = target
                return
            if "$id" in value:
                self._ids[str(value["$id"])] = value
            for child in value.values():
                if isinstance(child, (dict, list)):
                    self._walk(child, pending)

    def get(self, value: Any) -> dict:
        """`value` itself, or what it refers to; {} for anything else or a dangling reference."""
        if not isinstance(value, dict):
            return {}
        found = self._targets.get(id(value), value) if "$ref" in value else value
        lowered = self._lowered.get(id(found))
        if lowered is None:   # entities are read many times through references: lower-case once
            lowered = {k.lower(): v for k, v in found.items() if isinstance(k, str) and k != "$ref"}
            self._lowered[id(found)] = lowered
        return lowered


Found = tuple[list[dict | None], list[dict | None]]   # resources, evidences


def convert(entities: list, refs: References) -> Found:
    resources: list[dict | None] = []
    evidences: list[dict | None] = []
    for raw in entities:
        if not isinstance(raw, dict) or "$ref" in raw:   # a reference repeats an entity listed elsewhere
            continue
        e = refs.get(raw)
        handler = HANDLERS.get(str(e.get("type", "")).lower())
        if handler is not None:
            more_resources, more_evidences = handler(e, refs)
            resources.extend(more_resources)
            evidences.extend(more_evidences)
    return resources, _distinct(evidences)


def _distinct(found: list[dict | None]) -> list[dict | None]:
    """Exports list one entity several times (the same IP under three $ids): keep it once."""
    seen: set[str] = set()
    out = []
    for x in found:
        key = repr(x)   # built by the same code, equal evidences print alike
        if x and key not in seen:
            seen.add(key)
            out.append(x)
    return out


def arm_type(resource_id: str | None) -> str | None:
    """"Microsoft.Compute/virtualMachines" out of an ARM resource id."""
    if not resource_id or "/providers/" not in resource_id.lower():
        return None
    tail = resource_id[resource_id.lower().rindex("/providers/") + len("/providers/"):].split("/")
    return "/".join([tail[0], *tail[1::2]]) if len(tail) >= 3 else None


def ip_endpoint(e: dict, port: int | None = None) -> dict | None:
    location = e.get("location") if isinstance(e.get("location"), dict) else {}
    return ocsf.endpoint(ip=text(e, "address"), port=port, country=text(location, "countrycode"),
                         city=text(location, "city"), asn=integer(location, "asn") or None,
                         isp=text(location, "carrier"))


def _ip(e: dict, refs: References) -> Found:
    return [], [ocsf.evidence(src_endpoint=ip_endpoint(e))]


def _host(e: dict, refs: References) -> Found:
    uid = text(e, "azureid")
    return [ocsf.resource(uid=uid, name=text(e, "hostname"), type=arm_type(uid) or "Host",
                          hostname=text(e, "hostname"), role_id=ocsf.ROLE_AFFECTED)], []


def account_user(e: dict) -> dict | None:
    upn = f"{e['name']}@{e['upnsuffix']}" if text(e, "name") and text(e, "upnsuffix") else None
    return ocsf.user(name=text(e, "name"), uid=text(e, "aaduserid") or text(e, "objectguid") or text(e, "sid"),
                     domain=text(e, "ntdomain") or text(e, "upnsuffix"), email=upn,
                     account=ocsf.account(text(e, "aadtenantid"), ocsf.AZURE_AD_ACCOUNT))


def _account(e: dict, refs: References) -> Found:
    return [], [ocsf.evidence(actor=ocsf.actor(user=account_user(e)))]


def _application(e: dict, refs: References) -> Found:
    return [], [ocsf.evidence(actor=ocsf.actor(app_uid=text(e, "appid"), app_name=text(e, "name")))]


def process(e: dict, refs: References, depth: int = 0) -> dict | None:
    image = refs.get(e.get("imagefile"))
    path = "/".join(p for p in (text(image, "directory"), text(image, "name")) if p) or None
    parent = process(refs.get(e.get("parentprocess")), refs, depth + 1) if depth < 2 else None
    pid = text(e, "processid")
    return ocsf.process(pid=_pid(pid), cmd_line=text(e, "commandline"), path=path,
                        created_time=millis(e, "creationtimeutc"), parent=parent,
                        user=account_user(refs.get(e.get("account"))) if e.get("account") else None)


def _pid(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(value, 16) if value.lower().startswith("0x") else int(value)
    except ValueError:
        return None


def _process(e: dict, refs: References) -> Found:
    return [], [ocsf.evidence(process=process(e, refs))]


def _dns(e: dict, refs: References) -> Found:
    name = text(e, "domainname")
    return [], [ocsf.evidence(query={"hostname": name})] if name else []


def _connection(e: dict, refs: References) -> Found:
    source = ip_endpoint(refs.get(e.get("sourceaddress")), integer(e, "sourceport"))
    target = ip_endpoint(refs.get(e.get("destinationaddress")), integer(e, "destinationport"))
    return [], [ocsf.evidence(src_endpoint=source, dst_endpoint=target,
                              connection_info=ocsf.connection(None, text(e, "protocol")))]


def _url(e: dict, refs: References) -> Found:
    return [], [ocsf.evidence(url=ocsf.compact(url_string=text(e, "url")) or None)]


def _file(e: dict, refs: References) -> Found:
    path = "/".join(p for p in (text(e, "directory"), text(e, "name")) if p) or None
    hashes = [refs.get(h) for h in e.get("filehashes") or () if isinstance(h, dict)]
    return [], [ocsf.evidence(file=ocsf.file(path=path, name=text(e, "name"), hashes=[
        ocsf.fingerprint(text(h, "algorithm") or "", text(h, "value")) for h in hashes]))]


def _azure_resource(e: dict, refs: References) -> Found:
    uid = text(e, "resourceid")
    return [ocsf.resource(uid=uid, type=arm_type(uid), role_id=ocsf.ROLE_AFFECTED)], []


def _other_cloud_resource(e: dict, refs: References) -> Found:
    return [ocsf.resource(uid=text(e, "amazonresourceid") or text(e, "resourceid"), name=text(e, "resourcename"),
                          type=text(e, "resourcetype"), region=text(e, "location"), role_id=ocsf.ROLE_AFFECTED)], []


def _blob(e: dict, refs: References) -> Found:
    return [ocsf.resource(uid=text(e, "url"), name=text(e, "name"), type="Azure Blob",
                          role_id=ocsf.ROLE_AFFECTED)], []


def _blob_container(e: dict, refs: References) -> Found:
    return [ocsf.resource(name=text(e, "name"), type="Azure Blob Container", role_id=ocsf.ROLE_AFFECTED)], []


def _cluster(e: dict, refs: References) -> dict | None:
    cloud = refs.get(e.get("cloudresource"))
    return kubernetes.cluster(text(e, "name"), uid=text(cloud, "resourceid") or text(cloud, "amazonresourceid"),
                              role_id=ocsf.ROLE_AFFECTED)


def _k8s_cluster(e: dict, refs: References) -> Found:
    return [_cluster(e, refs)], []


def namespace_of(e: dict, refs: References) -> tuple[str | None, list[dict | None]]:
    """The name of an entity's namespace, and the namespace and cluster as resources."""
    ns = refs.get(e.get("namespace"))
    name = text(ns, "name")
    found = [kubernetes.k8s_object(kubernetes.NAMESPACE, name, role_id=ocsf.ROLE_RELATED)]
    found.append(_cluster(refs.get(ns.get("cluster")), refs) if ns.get("cluster") else None)
    return name, found


def _k8s_namespace(e: dict, refs: References) -> Found:
    cluster = _cluster(refs.get(e.get("cluster")), refs) if e.get("cluster") else None
    return [kubernetes.k8s_object(kubernetes.NAMESPACE, text(e, "name"), role_id=ocsf.ROLE_RELATED), cluster], []


def _k8s_pod(e: dict, refs: References) -> Found:
    namespace, found = namespace_of(e, refs)
    labels = kubernetes.labels_from(e.get("labels"))
    return [kubernetes.k8s_object(kubernetes.POD, text(e, "name"), namespace=namespace, labels=labels,
                                  role_id=ocsf.ROLE_AFFECTED), *found], []


def _k8s_controller(e: dict, refs: References) -> Found:
    """A workload (Deployment, DaemonSet, ...); `Type` is the entity's own type here, so the
    workload kind is read from ControllerType or Kind (no real sample was found to confirm)."""
    namespace, found = namespace_of(e, refs)
    kind = text(e, "controllertype") or text(e, "kind") or "Workload"
    return [kubernetes.k8s_object(kind, text(e, "name"), namespace=namespace,
                                  role_id=ocsf.ROLE_AFFECTED), *found], []


def _k8s_service_account(e: dict, refs: References) -> Found:
    namespace, found = namespace_of(e, refs)
    return [kubernetes.k8s_object(kubernetes.SERVICE_ACCOUNT, text(e, "name"), namespace=namespace,
                                  role_id=ocsf.ROLE_RELATED), *found], []


def _container(e: dict, refs: References) -> Found:
    image = refs.get(e.get("image"))
    pod = refs.get(e.get("pod"))
    container = ocsf.container(uid=text(e, "containerid"), name=text(e, "name"),
                               image=ocsf.image(text(image, "imageid"), text(image, "digest")),
                               orchestrator="Kubernetes" if pod else None)
    resources = _k8s_pod(pod, refs)[0] if text(pod, "name") else []
    # OCSF wants more than a container in an evidence: the entity itself goes along as its data
    return resources, [ocsf.evidence(container=container, data=e) if container else None]


HANDLERS: dict[str, Callable[[dict, References], Found]] = {
    "ip": _ip, "host": _host, "account": _account, "cloud-application": _application,
    "process": _process, "dns": _dns, "network-connection": _connection, "url": _url, "file": _file,
    "azure-resource": _azure_resource, "aws-resource": _other_cloud_resource,
    "amazon-resource": _other_cloud_resource, "gcp-resource": _other_cloud_resource,
    "blob": _blob, "blob-container": _blob_container,
    "k8s-cluster": _k8s_cluster, "k8s-namespace": _k8s_namespace, "k8s-pod": _k8s_pod,
    "k8s-controller": _k8s_controller, "k8s-serviceaccount": _k8s_service_account,
    "k8s-service-account": _k8s_service_account, "container": _container,
}
