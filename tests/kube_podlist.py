"""A node's PodList as `GET /api/v1/pods?fieldSelector=spec.nodeName=node-a` returns it
(trimmed of fields weft does not read), and the cgroup directories of that node, for
the kubemeta tests: a Deployment's pod with an init container and a sidecar (containerd,
systemd driver), a StatefulSet's pod (cri-o), a bare pod, a CronJob's Job pod
(containerd, cgroupfs driver), and a Pending pod."""
from __future__ import annotations

CG = "/sys/fs/cgroup"
API_ID, SIDECAR_ID, INIT_ID = "a1" * 32, "b2" * 32, "c3" * 32
DB_ID, DEBUG_ID, JOB_ID = "d4" * 32, "e5" * 32, "f6" * 32
API_UID, DB_UID = "5f1a0c3e-7b2d-4e8f-9a61-0d3c2b1e4f50", "8e2b7d14-3c5a-4f69-b0e1-6a7d9c8b2f31"
DEBUG_UID, JOB_UID = "1c9e4a27-6d3b-48f0-a5e2-7b0c1d9e3a64", "9d3f5b8a-2e1c-4a7d-8b60-5c4e3f2a1b97"
BURSTABLE = f"{CG}/kubepods.slice/kubepods-burstable.slice"


def _meta(name, namespace, uid, labels, owner=None):
    meta = {"name": name, "namespace": namespace, "uid": uid, "resourceVersion": "48213",
            "creationTimestamp": "2026-11-27T09:12:44Z", "labels": labels}
    if owner:
        kind, owner_name = owner
        meta["ownerReferences"] = [{"apiVersion": "batch/v1" if kind == "Job" else "apps/v1", "kind": kind,
                                    "name": owner_name, "uid": "0b4e8f21-aaaa-4c3d-9e7f-123456789abc",
                                    "controller": True, "blockOwnerDeletion": True}]
    return meta


def _status(cid, name, image, running=True, runtime="containerd"):
    state = ({"running": {"startedAt": "2026-11-27T09:12:51Z"}} if running else
             {"terminated": {"exitCode": 0, "reason": "Completed", "containerID": f"{runtime}://{cid}"}})
    return {"name": name, "image": image, "imageID": f"{image.split(':')[0]}@sha256:{'0' * 64}",
            "containerID": f"{runtime}://{cid}", "ready": running, "restartCount": 0,
            "started": running, "state": state}


PODS = {
    "apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "48290"},
    "items": [
        {"metadata": _meta("agent-api-7d9f8b6c5d-x2k4q", "payments", API_UID,
                           {"app": "agent-api", "pod-template-hash": "7d9f8b6c5d"},
                           ("ReplicaSet", "agent-api-7d9f8b6c5d")),
         "spec": {"nodeName": "node-a", "serviceAccountName": "agent-api",
                  "initContainers": [{"name": "migrate", "image": "ghcr.io/acme/agent-api:2.4.1"}],
                  "containers": [{"name": "api", "image": "ghcr.io/acme/agent-api:2.4.1"},
                                 {"name": "proxy", "image": "envoyproxy/envoy:v1.31.2"}]},
         "status": {"phase": "Running", "podIP": "10.8.3.17",
                    "initContainerStatuses": [_status(INIT_ID, "migrate", "ghcr.io/acme/agent-api:2.4.1",
                                                      running=False)],
                    "containerStatuses": [_status(API_ID, "api", "ghcr.io/acme/agent-api:2.4.1"),
                                          _status(SIDECAR_ID, "proxy", "docker.io/envoyproxy/envoy:v1.31.2")]}},
        {"metadata": _meta("vector-db-0", "payments", DB_UID,
                           {"app": "vector-db", "controller-revision-hash": "vector-db-6b8c9d7f4",
                            "statefulset.kubernetes.io/pod-name": "vector-db-0"},
                           ("StatefulSet", "vector-db")),
         "spec": {"nodeName": "node-a", "serviceAccountName": "vector-db",
                  "containers": [{"name": "db", "image": "qdrant/qdrant:v1.12.4"}]},
         "status": {"phase": "Running",
                    "containerStatuses": [_status(DB_ID, "db", "", runtime="cri-o")]}},
        {"metadata": _meta("debug-shell", "default", DEBUG_UID, {"run": "debug-shell"}),
         "spec": {"nodeName": "node-a", "containers": [{"name": "shell", "image": "busybox:1.36"}]},
         "status": {"phase": "Running",
                    "containerStatuses": [_status(DEBUG_ID, "shell", "docker.io/library/busybox:1.36")]}},
        {"metadata": _meta("nightly-eval-29405460-7kq2m", "evals", JOB_UID,
                           {"batch.kubernetes.io/job-name": "nightly-eval-29405460",
                            "batch.kubernetes.io/controller-uid": "0b4e8f21-aaaa-4c3d-9e7f-123456789abc"},
                           ("Job", "nightly-eval-29405460")),
         "spec": {"nodeName": "node-a", "serviceAccountName": "evaluator",
                  "containers": [{"name": "eval", "image": "ghcr.io/acme/eval:0.9"}]},
         "status": {"phase": "Running",
                    "containerStatuses": [_status(JOB_ID, "eval", "ghcr.io/acme/eval:0.9")]}},
        {"metadata": _meta("agent-api-7d9f8b6c5d-p8z3n", "payments", "77777777-0000-4000-8000-000000000000",
                           {"app": "agent-api", "pod-template-hash": "7d9f8b6c5d"},
                           ("ReplicaSet", "agent-api-7d9f8b6c5d")),
         "spec": {"nodeName": "node-a", "serviceAccountName": "agent-api",
                  "containers": [{"name": "api", "image": "ghcr.io/acme/agent-api:2.4.1"}]},
         "status": {"phase": "Pending",
                    "containerStatuses": [{"name": "api", "image": "ghcr.io/acme/agent-api:2.4.1",
                                           "imageID": "", "ready": False, "restartCount": 0, "started": False,
                                           "state": {"waiting": {"reason": "ContainerCreating"}}}]}},
    ],
}

API_POD = f"{BURSTABLE}/kubepods-burstable-pod{API_UID.replace('-', '_')}.slice"
DB_POD = f"{CG}/kubepods.slice/kubepods-pod{DB_UID.replace('-', '_')}.slice"
JOB_POD = f"{CG}/kubepods/besteffort/pod{JOB_UID}"
CGROUP_DIRS = [
    CG, f"{CG}/system.slice", f"{CG}/system.slice/containerd.service",
    f"{CG}/kubepods.slice", BURSTABLE, API_POD,
    f"{API_POD}/cri-containerd-{'99' * 32}.scope",        # the pod's sandbox (pause)
    f"{API_POD}/cri-containerd-{API_ID}.scope", f"{API_POD}/cri-containerd-{SIDECAR_ID}.scope",
    DB_POD, f"{DB_POD}/crio-conmon-{DB_ID}.scope", f"{DB_POD}/crio-{DB_ID}.scope",
    f"{CG}/kubepods", f"{CG}/kubepods/besteffort", JOB_POD, f"{JOB_POD}/{JOB_ID}",
    f"{CG}/kubepods/besteffort/pod{DEBUG_UID}",             # its container's directory is not there yet
]
