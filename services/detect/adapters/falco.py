"""Falco alerts (`json_output: true`, as written to a file or posted by falcosidekick)
to OCSF. Falco gives no alert id, so the finding's id is derived from the alert's
content; Falco's optional `uuid` is kept as the second id.

What Falco knows lives in `output_fields`, whose keys are Falco field names
(proc.*, container.*, k8s.*, fd.*, user.*, and ka.* for Kubernetes audit events);
only the fields a rule's output names are there, so every one is optional."""
from __future__ import annotations

import hashlib
import re

from weft.detect.adapters.registry import Adapter, register
from weft.detect.core import attack, fields, kubernetes, ocsf, severity
from weft.detect.core.fields import integer, items, obj, text
from weft.detect.core.finding import Detection, Product

_TECHNIQUE_TAG = re.compile(r"^T\d{4}(\.\d{3})?$")


@register("falco")
class FalcoAdapter(Adapter):
    source = "FALCO"
    title = "Falco alert"

    def recognises(self, record: dict) -> bool:
        return "rule" in record and "priority" in record and (
            "output" in record or "output_fields" in record or "time" in record)

    def convert(self, r: dict) -> Detection:
        rule = fields.required_text(r, "rule", what="the rule name")
        time = fields.required_millis(r, ("time",), ("output_fields", "evt.time"), ("output_fields", "evt_time"),
                                      what="when the event happened")
        of = obj(r, "output_fields")
        # a rule's output names a few field classes: skip the readers of the absent ones
        classes = {k.split(".", 1)[0] for k in of if isinstance(k, str)}
        tags = [t for t in items(r, "tags") if isinstance(t, str) and t]
        namespace = text(of, "k8s.ns.name") or text(of, "ka.target.namespace")
        pod = text(of, "k8s.pod.name")
        audit = "ka" in classes
        return Detection(
            uid=None, uid_alt=text(r, "uuid"), title=rule, desc=text(r, "output"), time=time,
            severity=severity.from_table(severity.FALCO, r.get("priority")),
            product=Product(self.name, "Falco", "The Falco Project", text(r, "source")),
            event_code=rule, types=[rule],
            analytic={"name": rule, "type_id": 1, "type": "Rule"},
            device=ocsf.device(hostname=text(r, "hostname")),
            actor=ocsf.actor(user=ocsf.user(name=text(of, "ka.user.name"), type="Kubernetes User")) if audit else None,
            resources=[
                kubernetes.k8s_object(kubernetes.POD, pod, namespace=namespace, uid=text(of, "k8s.pod.uid"),
                                      labels=kubernetes.labels_from(of.get("k8s.pod.labels"), ":"),
                                      role_id=ocsf.ROLE_TARGET),
                kubernetes.k8s_object(kubernetes.NAMESPACE, namespace, role_id=ocsf.ROLE_RELATED),
                *(_audit_objects(of, namespace) if audit else ())],
            evidences=[ocsf.evidence(process=_process(of) if "proc" in classes else None,
                                     container=_container(of, pod) if "container" in classes else None),
                       _file(of) if "fd" in classes else None,
                       _connection(of) if "fd" in classes else None,
                       _audit_call(of) if audit else None],
            attacks=attack.attacks([t for t in tags if t.startswith(("mitre_", "TA0"))],
                                   [t for t in tags if _TECHNIQUE_TAG.match(t)]),
            raw=r,
        )


def _process(of: dict) -> dict | None:
    parent = ocsf.process(name=text(of, "proc.pname"), pid=integer(of, "proc.ppid"),
                          cmd_line=text(of, "proc.pcmdline"), path=text(of, "proc.pexepath"))
    return ocsf.process(name=text(of, "proc.name"), pid=integer(of, "proc.pid"), cmd_line=text(of, "proc.cmdline"),
                        path=text(of, "proc.exepath") or text(of, "proc.exe"), cwd=text(of, "proc.cwd"),
                        namespace_pid=integer(of, "proc.vpid"), parent=parent, lineage=_ancestors(of),
                        user=ocsf.user(name=text(of, "user.name"), uid=text(of, "user.uid")),
                        uid=None if integer(of, "proc.pid") is not None else _derived_uid(of))


def _ancestors(of: dict) -> list[str]:
    """The parent and the ancestors Falco names (proc.aname[2], proc.aname[3], ...)."""
    found = [text(of, "proc.pexepath") or text(of, "proc.pname")]
    found += [text(of, f"proc.aname[{n}]") for n in range(2, 8)]
    return [a for a in found if a and a != "<NA>"]


def _derived_uid(of: dict) -> str | None:
    """Most rule outputs name no pid, and OCSF keeps no process without a pid or uid: weft
    assigns one, derived from the container, executable and command line."""
    parts = [text(of, "container.id"), text(of, "proc.exepath") or text(of, "proc.name"), text(of, "proc.cmdline")]
    if not any(parts[1:]):
        return None
    return hashlib.sha256("\0".join(p or "" for p in parts).encode()).hexdigest()[:32]


def _container(of: dict, pod: str | None) -> dict | None:
    repository, tag = text(of, "container.image.repository"), text(of, "container.image.tag")
    reference = text(of, "container.image") or (f"{repository}:{tag}" if repository and tag else repository)
    container_id = text(of, "container.full_id") or text(of, "container.id")
    if container_id == "host":   # Falco's name for "not in a container"
        return None
    return ocsf.container(uid=container_id, name=text(of, "container.name"), runtime=text(of, "container.type"),
                          image=ocsf.image(reference, text(of, "container.image.id")),
                          orchestrator="Kubernetes" if pod else None)


def _file(of: dict) -> dict | None:
    name = text(of, "fd.name")
    directory, filename = text(of, "fd.directory"), text(of, "fd.filename")
    path = name if name and name.startswith("/") else (f"{directory.rstrip('/')}/{filename}"
                                                        if directory and filename else None)
    return ocsf.evidence(file=ocsf.file(path=path))


def _connection(of: dict) -> dict | None:
    """Client to server when Falco knows the roles (fd.cip/fd.sip), else local to remote."""
    client = ocsf.endpoint(ip=text(of, "fd.cip") or text(of, "fd.lip"),
                           port=integer(of, "fd.cport") or integer(of, "fd.lport"),
                           hostname=text(of, "fd.cip.name") or text(of, "fd.lip.name"))
    server = ocsf.endpoint(ip=text(of, "fd.sip") or text(of, "fd.rip"),
                           port=integer(of, "fd.sport") or integer(of, "fd.rport"),
                           hostname=text(of, "fd.sip.name") or text(of, "fd.rip.name"))
    protocol = text(of, "fd.l4proto")
    return ocsf.evidence(src_endpoint=client, dst_endpoint=server,
                         connection_info=ocsf.connection(None, protocol) if (client or server) else None)


def _audit_objects(of: dict, namespace: str | None) -> list[dict | None]:
    """The object a Kubernetes audit event acted on, and the service account that acted."""
    return [kubernetes.k8s_object(text(of, "ka.target.resource") or "Object", text(of, "ka.target.name"),
                                  namespace=namespace, role_id=ocsf.ROLE_TARGET),
            kubernetes.service_account_user(text(of, "ka.user.name"), ocsf.ROLE_ACTOR)]


def _audit_call(of: dict) -> dict | None:
    """A Kubernetes audit event (the k8saudit plugin's ka.* fields)."""
    sources = text(of, "ka.sourceips")
    return ocsf.evidence(api=ocsf.api(text(of, "ka.verb"), service="kubernetes", code=integer(of, "ka.response.code")),
                         src_endpoint=ocsf.endpoint(ip=sources.split(",")[0].strip("[] ") if sources else None))
