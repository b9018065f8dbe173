"""The pure core of kubemeta: a node's PodList and its cgroup directories in, the
workload metadata document out (one entry per running container found in the tree)."""
from __future__ import annotations

import copy

import pytest

from kube_podlist import (API_ID, API_POD, CGROUP_DIRS, DB_ID, DB_POD, JOB_ID, JOB_POD, PODS, SIDECAR_ID)
from weft.sensor.kubemeta import cgroups_by_container_id, container_id, document, workload_of

API_LABELS = {"app": "agent-api", "pod-template-hash": "7d9f8b6c5d"}
EXPECTED = [
    {"cgroupPath": f"{API_POD}/cri-containerd-{API_ID}.scope", "namespace": "payments",
     "pod": "agent-api-7d9f8b6c5d-x2k4q", "container": "api", "containerId": API_ID,
     "kind": "Deployment", "name": "agent-api", "serviceAccount": "agent-api",
     "image": "ghcr.io/acme/agent-api:2.4.1", "labels": API_LABELS},
    {"cgroupPath": f"{API_POD}/cri-containerd-{SIDECAR_ID}.scope", "namespace": "payments",
     "pod": "agent-api-7d9f8b6c5d-x2k4q", "container": "proxy", "containerId": SIDECAR_ID,
     "kind": "Deployment", "name": "agent-api", "serviceAccount": "agent-api",
     "image": "docker.io/envoyproxy/envoy:v1.31.2", "labels": API_LABELS},
    {"cgroupPath": f"{DB_POD}/crio-{DB_ID}.scope", "namespace": "payments", "pod": "vector-db-0",
     "container": "db", "containerId": DB_ID, "kind": "StatefulSet", "name": "vector-db",
     "serviceAccount": "vector-db", "image": "qdrant/qdrant:v1.12.4",   # from the spec: the status has none
     "labels": {"app": "vector-db", "controller-revision-hash": "vector-db-6b8c9d7f4",
                "statefulset.kubernetes.io/pod-name": "vector-db-0"}},
    {"cgroupPath": f"{JOB_POD}/{JOB_ID}", "namespace": "evals", "pod": "nightly-eval-29405460-7kq2m",
     "container": "eval", "containerId": JOB_ID, "kind": "CronJob", "name": "nightly-eval",
     "serviceAccount": "evaluator", "image": "ghcr.io/acme/eval:0.9",
     "labels": {"batch.kubernetes.io/job-name": "nightly-eval-29405460",
                "batch.kubernetes.io/controller-uid": "0b4e8f21-aaaa-4c3d-9e7f-123456789abc"}},
]


def test_document_has_one_entry_per_running_container_found_in_the_cgroup_tree():
    doc = document(PODS, CGROUP_DIRS)
    assert doc["workloads"] == EXPECTED
    # the bare pod runs, but its container's cgroup is not in the tree: said, not dropped
    assert doc["unplaced"] == ["default/debug-shell/shell"]


def test_a_bare_pod_is_its_own_workload_with_the_default_service_account():
    dirs = CGROUP_DIRS + [f"{CGROUP_DIRS[-1]}/{'e5' * 32}"]
    [shell] = [e for e in document(PODS, dirs)["workloads"] if e["pod"] == "debug-shell"]
    assert (shell["kind"], shell["name"], shell["serviceAccount"]) == ("Pod", "debug-shell", "default")
    assert shell["cgroupPath"] == dirs[-1] and shell["image"] == "docker.io/library/busybox:1.36"


def test_pending_pods_terminated_init_containers_and_sandboxes_are_left_out():
    pods = copy.deepcopy(PODS)
    pending = pods["items"][4]
    pending["status"]["containerStatuses"][0].update(containerID=f"containerd://{'99' * 32}",
                                                    state={"running": {}})
    # a running container of a Pending pod whose id is the sandbox's directory: still left out
    assert [e["containerId"] for e in document(pods, CGROUP_DIRS)["workloads"]] == [API_ID, SIDECAR_ID, DB_ID, JOB_ID]
    pending["status"]["phase"] = "Running"
    assert f"{'99' * 32}" in [e["containerId"] for e in document(pods, CGROUP_DIRS)["workloads"]]


def test_a_running_init_container_is_attributed_like_the_others():
    pods = copy.deepcopy(PODS)
    init = pods["items"][0]["status"]["initContainerStatuses"][0]
    init["state"] = {"running": {"startedAt": "2026-11-27T09:12:47Z"}}
    dirs = CGROUP_DIRS + [f"{API_POD}/cri-containerd-{'c3' * 32}.scope"]
    [migrate] = [e for e in document(pods, dirs)["workloads"] if e["container"] == "migrate"]
    assert (migrate["kind"], migrate["name"], migrate["containerId"]) == ("Deployment", "agent-api", "c3" * 32)


def test_an_empty_pod_list_is_an_empty_document():
    assert document({"apiVersion": "v1", "kind": "PodList", "items": None}, CGROUP_DIRS) == \
        {"workloads": [], "unplaced": []}


@pytest.mark.parametrize("runtime_id, expected", [
    ("containerd://" + "ab" * 32, "ab" * 32),
    ("cri-o://" + "ab" * 32, "ab" * 32),
    ("docker://" + "ab" * 32, "ab" * 32),
    ("", None), ("containerd://", None), ("rkt://" + "ab" * 32, None), ("ab" * 32, None),
])
def test_container_ids_come_from_the_known_runtimes(runtime_id, expected):
    assert container_id(runtime_id) == expected


@pytest.mark.parametrize("directory, expected", [
    ("/cg/kubepods.slice/kubepods-pod1.slice/cri-containerd-abc123.scope", "abc123"),
    ("/cg/kubepods.slice/kubepods-pod1.slice/crio-abc123.scope", "abc123"),
    ("/cg/kubepods.slice/kubepods-pod1.slice/docker-abc123.scope", "abc123"),
    ("/cg/kubepods/burstable/pod5f1a-0c3e/abc123", "abc123"),
    ("/cg/kubepods/pod5f1a-0c3e/crio-abc123", "abc123"),
    ("/cg/kubepods.slice/kubepods-pod1.slice/crio-conmon-abc123.scope", None),   # cri-o's monitor
    ("/cg/kubepods/burstable/abc123", None),                                    # not in a pod's cgroup
    ("/cg/system.slice/containerd.service", None),
])
def test_a_containers_cgroup_is_found_by_the_runtimes_directory_names(directory, expected):
    assert {cid for cid, d in cgroups_by_container_id([directory]).items() if d == directory} == \
        ({expected} if expected else set())


@pytest.mark.parametrize("owner, labels, expected", [
    (("ReplicaSet", "api-7d9f8b6c5d"), {"pod-template-hash": "7d9f8b6c5d"}, ("Deployment", "api")),
    (("ReplicaSet", "api-v2"), {}, ("ReplicaSet", "api-v2")),              # a ReplicaSet of its own
    (("Job", "nightly-29405460"), {}, ("CronJob", "nightly")),
    (("Job", "migrate-2"), {}, ("Job", "migrate-2")),                      # not a CronJob's schedule
    (("DaemonSet", "node-agent"), {}, ("DaemonSet", "node-agent")),
    (None, {}, ("Pod", "p")),
])
def test_workload_of_the_pods_controller(owner, labels, expected):
    meta = {"name": "p", "labels": labels}
    if owner:
        meta["ownerReferences"] = [{"kind": "Node", "name": "n", "controller": False},
                                   {"kind": owner[0], "name": owner[1], "controller": True}]
    assert workload_of({"metadata": meta}) == expected
