"""Google Security Command Center findings (v1 or v2; bare, as a notification or as a
listFindings result {finding, resource}) to OCSF.

The finding names what happened (access: the principal and API; processes;
connections; indicators; containers; Kubernetes pods, workloads, nodes and bindings)
and `resource` what it happened to, in which project, organisation and cloud (SCC
Enterprise also reports AWS and Azure resources)."""
from __future__ import annotations

import re

from weft.detect.adapters.registry import Adapter, register
from weft.detect.core import attack, fields, kubernetes, ocsf, severity
from weft.detect.core.fields import integer, items, obj, text
from weft.detect.core.finding import Detection, Product

_FINDING_NAME = re.compile(r"^(organizations|folders|projects)/[^/]+/sources/[^/]+/(locations/[^/]+/)?findings/")
_CLUSTER = re.compile(r"^//container\.googleapis\.com/projects/[^/]+/(?:locations|zones)/[^/]+/clusters/([^/]+)$")
_PROVIDERS = {"GOOGLE_CLOUD_PLATFORM": "GCP", "AMAZON_WEB_SERVICES": "AWS", "MICROSOFT_AZURE": "Azure"}


@register("scc")
class SccAdapter(Adapter):
    source = "SCC"
    title = "Security Command Center finding"

    def recognises(self, record: dict) -> bool:
        finding = record.get("finding")
        if isinstance(finding, dict):
            return "name" in finding or "category" in finding
        return bool(_FINDING_NAME.match(str(record.get("name", ""))))

    def convert(self, record: dict) -> Detection:
        wrapped = isinstance(record.get("finding"), dict)
        f = record["finding"] if wrapped else record
        at = ("finding",) if wrapped else ()
        res = obj(record, "resource")
        uid = fields.required_text(record, *at, "name", what="the finding name")
        time = fields.required_millis(record, (*at, "eventTime"), (*at, "createTime"),
                                      what="when the event took place")
        state, mute = text(f, "state"), text(f, "mute")
        status_id = (ocsf.STATUS_SUPPRESSED if mute == "MUTED" else
                     ocsf.STATUS_RESOLVED if state == "INACTIVE" else ocsf.STATUS_NEW)
        category = text(f, "category")
        return Detection(
            uid=uid, title=category or text(f, "moduleName") or uid, desc=text(f, "description"), time=time,
            severity=severity.from_table(severity.SCC, f.get("severity")),
            product=Product(self.name, "Security Command Center", "Google", text(f, "parentDisplayName")),
            event_code=category or "", uid_alt=text(f, "canonicalName"),
            types=[t for t in (category, text(f, "findingClass")) if t],
            created=fields.millis(f, "createTime"), first_seen=time,
            activity_id=ocsf.ACTIVITY_CLOSE if state == "INACTIVE" else ocsf.ACTIVITY_CREATE,
            status_id=status_id,
            cloud=_cloud(f, res, uid),
            resources=[*_resources(f, res), *_kubernetes(obj(f, "kubernetes"))],
            evidences=_evidences(f),
            attacks=_attacks(obj(f, "mitreAttack")),
            remediation=text(f, "nextSteps"), src_url=text(f, "externalUri"),
            raw=record,
        )


def _cloud(f: dict, res: dict, name: str) -> dict:
    provider = _PROVIDERS.get(text(res, "cloudProvider") or "", "GCP")
    if provider == "AWS":
        return ocsf.cloud("AWS", region=text(res, "location"),
                          account=ocsf.account(text(res, "awsMetadata", "account", "id"), ocsf.AWS_ACCOUNT,
                                               text(res, "awsMetadata", "account", "name")))
    if provider == "Azure":
        return ocsf.cloud("Azure", region=text(res, "location"), org=text(res, "azureMetadata", "tenant", "id"),
                          account=ocsf.account(text(res, "azureMetadata", "subscription", "id"),
                                               ocsf.AZURE_SUBSCRIPTION))
    project = text(res, "gcpMetadata", "project") or text(res, "project") or ""
    project_id = (text(res, "gcpMetadata", "projectDisplayName") or text(res, "projectDisplayName")
                  or _project_in(text(f, "resourceName")) or project.rsplit("/", 1)[-1] or None)
    org = text(res, "gcpMetadata", "organization") or text(res, "organization") or ""
    org_id = org.rsplit("/", 1)[-1] or (name.split("/")[1] if name.startswith("organizations/") else None)
    return ocsf.cloud("GCP", region=text(res, "location"), project_uid=project_id, org=org_id,
                      account=ocsf.account(project_id, ocsf.GCP_PROJECT))


def _project_in(resource_name: str | None) -> str | None:
    parts = (resource_name or "").split("/")
    return parts[parts.index("projects") + 1] if "projects" in parts[:-1] else None


def _resources(f: dict, res: dict) -> list[dict | None]:
    resource_name = text(f, "resourceName") or text(res, "name")
    out = [ocsf.resource(uid=resource_name, name=text(res, "displayName") or text(res, "resourceDisplayName"),
                         type=text(res, "type"), region=text(res, "location"), role_id=ocsf.ROLE_TARGET)]
    cluster = _CLUSTER.match(resource_name or "")
    if cluster:
        out.append(kubernetes.cluster(cluster.group(1), uid=resource_name, region=text(res, "location"),
                                      role_id=ocsf.ROLE_TARGET))
    for kind, role in (("sources", ocsf.ROLE_AFFECTED), ("targets", ocsf.ROLE_RELATED)):
        for x in items(f, "exfiltration", kind):
            out.append(ocsf.resource(uid=text(x, "name"), role_id=role))
    return out


def _kubernetes(k8s: dict) -> list[dict | None]:
    out: list[dict | None] = []
    for pod in items(k8s, "pods"):
        out.append(kubernetes.k8s_object(kubernetes.POD, text(pod, "name"), namespace=text(pod, "ns"),
                                         labels=kubernetes.labels_from(pod.get("labels")),
                                         role_id=ocsf.ROLE_AFFECTED))
    for o in items(k8s, "objects"):
        out.append(kubernetes.k8s_object(text(o, "kind") or "Object", text(o, "name"), namespace=text(o, "ns"),
                                         role_id=ocsf.ROLE_AFFECTED))
    for node in items(k8s, "nodes"):
        out.append(kubernetes.k8s_object(kubernetes.NODE, text(node, "name"), role_id=ocsf.ROLE_RELATED))
    for binding in items(k8s, "bindings"):
        for subject in items(binding, "subjects"):
            if str(subject.get("kind", "")).upper() == "SERVICEACCOUNT":
                out.append(kubernetes.k8s_object(kubernetes.SERVICE_ACCOUNT, text(subject, "name"),
                                                 namespace=text(subject, "ns"), role_id=ocsf.ROLE_RELATED))
    namespaces = {text(p, "ns") for p in items(k8s, "pods") + items(k8s, "objects")} - {None}
    out.extend(kubernetes.k8s_object(kubernetes.NAMESPACE, ns, role_id=ocsf.ROLE_RELATED) for ns in sorted(namespaces))
    return out


def _evidences(f: dict) -> list[dict | None]:
    """Who acted (access), what ran (processes, in the finding's container when it names
    one), where it connected, the indicators it matched, and the files involved."""
    containers = items(f, "containers")
    processes = items(f, "processes")
    only_container = containers[0] if len(containers) == 1 else None
    return [*_access(obj(f, "access")),
            *(_process(p, only_container) for p in processes),
            *(_connection(c) for c in items(f, "connections")),
            *_indicators(obj(f, "indicator")),
            *(_container_evidence(c) for c in containers if not processes),
            *(ocsf.evidence(file=ocsf.file(path=text(x, "path"), size=integer(x, "size"),
                                           hashes=[ocsf.fingerprint("sha256", text(x, "sha256"))]))
              for x in items(f, "files"))]


def _principal(email: str | None, subject: str | None, name: str | None = None,
               credential_uid: str | None = None) -> dict | None:
    """A GCP principal: its email, and its subject ("serviceAccount:...", "principal://...") as uid."""
    kind = subject.split(":", 1)[0] if subject and ":" in subject else None
    return ocsf.user(name=email or name, uid=subject, email=email if email and "@" in email else None,
                     type=kind, type_id=ocsf.SERVICE if kind == "serviceAccount" else None,
                     credential_uid=credential_uid)


def _access(a: dict) -> list[dict | None]:
    if not a:
        return []
    user = _principal(text(a, "principalEmail"), text(a, "principalSubject"), name=text(a, "userName"),
                      credential_uid=text(a, "serviceAccountKeyName"))
    out = [ocsf.evidence(actor=ocsf.actor(user=user),
                         api=ocsf.api(text(a, "methodName"), service=text(a, "serviceName")),
                         src_endpoint=ocsf.endpoint(ip=text(a, "callerIp"),
                                                    country=text(a, "callerIpGeo", "regionCode")))]
    for delegate in items(a, "serviceAccountDelegationInfo"):
        out.append(ocsf.evidence(name="service account delegation", actor=ocsf.actor(
            user=_principal(text(delegate, "principalEmail"), text(delegate, "principalSubject")))))
    return out


def _container(c: dict | None) -> dict | None:
    if not c:
        return None
    return ocsf.container(name=text(c, "name"),
                          image=ocsf.image(text(c, "uri"), text(c, "imageId")),
                          labels=kubernetes.labels_from(c.get("labels")))


def _container_evidence(c: dict) -> dict | None:
    container = _container(c)
    return ocsf.evidence(container=container, data=c) if container else None


def _process(p: dict, container: dict | None) -> dict | None:
    args = [a for a in items(p, "args") if isinstance(a, str)]
    process = ocsf.process(name=text(p, "name"), pid=integer(p, "pid"), path=text(p, "binary", "path"),
                           sha256=text(p, "binary", "sha256"), cmd_line=" ".join(args) or None,
                           parent=ocsf.process(pid=integer(p, "parentPid")),
                           user=ocsf.user(uid=text(p, "userId")))
    return ocsf.evidence(process=process, container=_container(container))


def _connection(c: dict) -> dict | None:
    return ocsf.evidence(connection_info=ocsf.connection(None, text(c, "protocol")),
                         src_endpoint=ocsf.endpoint(ip=text(c, "sourceIp"), port=integer(c, "sourcePort")),
                         dst_endpoint=ocsf.endpoint(ip=text(c, "destinationIp"), port=integer(c, "destinationPort")))


def _indicators(indicator: dict) -> list[dict | None]:
    out = [ocsf.evidence(dst_endpoint=ocsf.endpoint(ip=ip)) for ip in items(indicator, "ipAddresses")
           if isinstance(ip, str)]
    out += [ocsf.evidence(dst_endpoint=ocsf.endpoint(domain=d)) for d in items(indicator, "domains")
            if isinstance(d, str)]
    out += [ocsf.evidence(url={"url_string": u}) for u in items(indicator, "uris") if isinstance(u, str)]
    return out


def _attacks(mitre: dict) -> list[dict]:
    tactics = [t for t in [text(mitre, "primaryTactic"), *items(mitre, "additionalTactics")] if isinstance(t, str)]
    found = attack.attacks(tactics)
    names = [t for t in [*items(mitre, "primaryTechniques"), *items(mitre, "additionalTechniques")]
             if isinstance(t, str)]
    # SCC names techniques by enum ("APPLICATION_LAYER_PROTOCOL"), without their ids
    found += [{"technique": {"name": n.replace("_", " ").title()}} for n in dict.fromkeys(names)]
    return found
