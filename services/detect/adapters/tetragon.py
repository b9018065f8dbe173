"""Tetragon JSON export (one GetEventsResponse per line: `process_exec`, `process_exit`,
`process_kprobe`, `process_lsm`, ... plus node_name, cluster_name and time) to OCSF.

Tetragon reports events, not alerts, and gives them no id: the finding's id is derived
from the event's content, and its severity from what kind of event it is (severity.py).
Old exports (2022) carry process_connect / process_close / process_listen; they convert
too. An export without `time` on a process_exec uses the process start time, which is
the exec time."""
from __future__ import annotations

from weft.detect.adapters.registry import Adapter, register
from weft.detect.core import attack, fields, kubernetes, ocsf, severity
from weft.detect.core.fields import integer, items, obj, text
from weft.detect.core.finding import Detection, Product

_RUNTIMES = ("containerd", "docker", "cri-o", "crio")
_DIRECTIONS = {"process_connect": "outbound", "process_close": "outbound", "process_listen": "inbound"}


def event_kind(record: dict) -> str | None:
    kinds = [k for k, v in record.items() if isinstance(k, str) and k.startswith("process_") and isinstance(v, dict)]
    return kinds[0] if len(kinds) == 1 else None


@register("tetragon")
class TetragonAdapter(Adapter):
    source = "TETRAGON"
    title = "Tetragon event"

    def recognises(self, record: dict) -> bool:
        return event_kind(record) is not None and ("node_name" in record or "time" in record)

    def convert(self, r: dict) -> Detection:
        kind = event_kind(r) or ""
        ev = r[kind]
        times = [("time",)] + ([(kind, "process", "start_time")] if kind == "process_exec" else [])
        time = fields.required_millis(r, *times, what="when the event happened")
        process, parent = obj(ev, "process"), obj(ev, "parent")
        if not process:
            raise fields.RecordInvalid(fields.pointer(kind, "process"), "expected the process (an object), found "
                                       + fields.describe(ev.get("process")))
        binary = text(process, "binary") or "?"
        policy = text(ev, "policy_name")
        pod = obj(process, "pod")
        action = text(ev, "action")
        function = text(ev, "function_name")
        return Detection(
            uid=None, time=time,
            title=text(ev, "message") or f"{kind} {binary}" + (f" ({function})" if function else ""),
            severity=severity.tetragon(kind, action),
            product=Product(self.name, "Tetragon", "Cilium", policy),
            event_code=kind, types=[kind, function] if function else [kind],
            analytic={"name": policy, "type_id": 1, "type": "Rule"} if policy else None,
            device=ocsf.device(hostname=text(r, "node_name")),
            resources=_kubernetes(pod, text(r, "cluster_name")),
            evidences=[ocsf.evidence(process=_process(process, parent), container=_container(pod)),
                       _connection(kind, ev), *_arguments(items(ev, "args")),
                       _outcome(ev, kind, action)],
            attacks=attack.attacks([], [t for t in items(ev, "tags") if isinstance(t, str)]),
            raw=r,
        )


def _process(p: dict, parent: dict) -> dict | None:
    return ocsf.process(
        pid=integer(p, "pid"), uid=text(p, "exec_id"), path=text(p, "binary"), cmd_line=_command(p),
        cwd=text(p, "cwd"), created_time=fields.millis(p, "start_time"),
        user=ocsf.user(uid=text(p, "uid"), name=text(p, "user", "name")),
        namespace_pid=integer(p, "pod", "container", "pid"),
        parent=ocsf.process(pid=integer(parent, "pid"), uid=text(parent, "exec_id") or text(p, "parent_exec_id"),
                            path=text(parent, "binary"), cmd_line=_command(parent)))


def _command(p: dict) -> str | None:
    binary, arguments = text(p, "binary"), text(p, "arguments")
    return f"{binary} {arguments}" if binary and arguments else binary


def _outcome(ev: dict, kind: str, action: str | None) -> dict | None:
    """How a process exited, or what a policy did: kept as evidence data."""
    if kind == "process_exit":
        return ocsf.evidence(data=ocsf.compact(signal=text(ev, "signal"), status=integer(ev, "status")) or None)
    return ocsf.evidence(data={"action": action}) if action else None


def _container(pod: dict) -> dict | None:
    c = obj(pod, "container")
    raw_id = text(c, "id") or ""
    runtime, _, container_id = raw_id.rpartition("://")
    return ocsf.container(uid=container_id or None, name=text(c, "name"),
                          runtime=runtime if runtime in _RUNTIMES else None,
                          image=ocsf.image(text(c, "image", "name"), text(c, "image", "id")),
                          orchestrator="Kubernetes" if pod else None)


def _kubernetes(pod: dict, cluster: str | None) -> list[dict | None]:
    namespace = text(pod, "namespace")
    return [kubernetes.cluster(cluster, role_id=ocsf.ROLE_RELATED),
            kubernetes.k8s_object(kubernetes.POD, text(pod, "name"), namespace=namespace, uid=text(pod, "uid"),
                                  labels=kubernetes.labels_from(pod.get("pod_labels")), role_id=ocsf.ROLE_TARGET),
            kubernetes.k8s_object(text(pod, "workload_kind") or "Workload", text(pod, "workload"),
                                  namespace=namespace, role_id=ocsf.ROLE_RELATED),
            kubernetes.k8s_object(kubernetes.NAMESPACE, namespace, role_id=ocsf.ROLE_RELATED)]


def _connection(kind: str, ev: dict) -> dict | None:
    """The legacy process_connect / close / listen events carry the socket themselves."""
    if kind == "process_listen":
        return ocsf.evidence(dst_endpoint=ocsf.endpoint(ip=text(ev, "ip"), port=integer(ev, "port")),
                             connection_info=ocsf.connection("inbound", text(ev, "protocol")))
    source = ocsf.endpoint(ip=text(ev, "source_ip"), port=integer(ev, "source_port"))
    target = ocsf.endpoint(ip=text(ev, "destination_ip"), port=integer(ev, "destination_port"))
    if not (source or target):
        return None
    return ocsf.evidence(src_endpoint=source, dst_endpoint=target,
                         connection_info=ocsf.connection(_DIRECTIONS.get(kind), text(ev, "protocol")))


def _arguments(args: list) -> list[dict | None]:
    """Files and sockets among a kprobe's or LSM hook's arguments."""
    out: list[dict | None] = []
    for arg in args:
        if not isinstance(arg, dict):
            continue
        for key in ("file_arg", "path_arg", "linux_binprm_arg"):
            path = text(arg, key, "path")
            if path:
                out.append(ocsf.evidence(file=ocsf.file(path=path)))
        sock = obj(arg, "sock_arg") or obj(arg, "skb_arg")
        if sock:
            out.append(ocsf.evidence(
                src_endpoint=ocsf.endpoint(ip=text(sock, "saddr"), port=integer(sock, "sport")),
                dst_endpoint=ocsf.endpoint(ip=text(sock, "daddr"), port=integer(sock, "dport")),
                connection_info=ocsf.connection(None, text(sock, "protocol"))))
    return out
