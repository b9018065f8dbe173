"""Attribution core: metadata parsing, longest-prefix match, the id index."""

from __future__ import annotations

import json
import os

import pytest

from weft.sensor.attribution import Attributor, CgroupIndex, match, parse_metadata

ROOT = "/sys/fs/cgroup/unified/weft-lab/aks"
DOC = {"workloads": [
    {"cgroupPath": f"{ROOT}/payments/api", "namespace": "payments", "pod": "api-0",
     "container": "api", "containerId": "containerd://abc", "kind": "Deployment", "name": "api",
     "serviceAccount": "api", "image": "reg/api:1", "labels": {"app": "api", "tier": 2}},
    {"cgroupPath": f"{ROOT}/payments", "namespace": "payments", "pod": "sidecar",
     "kind": "DaemonSet", "name": "mesh"},
    {"cgroupPath": f"{ROOT}/payments/api-admin/", "namespace": "payments", "name": "admin"},
]}


def entries():
    return parse_metadata(DOC)


def test_parse_maps_every_field_and_stringifies_labels():
    api = entries()[0]
    w = api.workload
    assert api.cgroup_path == f"{ROOT}/payments/api"
    assert (w.namespace, w.pod, w.container, w.container_id, w.kind, w.name,
            w.service_account, w.image) == ("payments", "api-0", "api", "containerd://abc",
                                            "Deployment", "api", "api", "reg/api:1")
    assert dict(w.labels) == {"app": "api", "tier": "2"}
    assert entries()[2].cgroup_path == f"{ROOT}/payments/api-admin"  # normalised


@pytest.mark.parametrize("bad", [{"workloads": [{"namespace": "x"}]},
                                 {"workloads": [{"cgroupPath": "relative/path"}]}])
def test_parse_refuses_entries_without_an_absolute_cgroup_path(bad):
    with pytest.raises(ValueError, match="cgroupPath"):
        parse_metadata(bad)


@pytest.mark.parametrize("path, name", [
    (f"{ROOT}/payments/api", "api"),                  # the cgroup itself
    (f"{ROOT}/payments/api/child/grandchild", "api"),  # any descendant
    (f"{ROOT}/payments/api-admin/x", "admin"),        # a sibling sharing a name prefix
    (f"{ROOT}/payments/other", "mesh"),               # the shorter prefix
    (f"{ROOT}/payment", None),                        # not on a path boundary
    ("/sys/fs/cgroup/unified/elsewhere", None),
])
def test_match_takes_the_longest_whole_component_prefix(path, name):
    found = match(path, entries())
    assert (found.workload.name if found else None) == name


def test_index_resolves_cgroup_ids_through_their_paths():
    index = CgroupIndex(entries(), {11: f"{ROOT}/payments/api", 12: f"{ROOT}/payments/api/c1",
                                    13: f"{ROOT}/payments", 14: "/sys/fs/cgroup/unified"})
    assert index.lookup(12).pod == "api-0"
    assert index.lookup(13).name == "mesh"
    assert index.lookup(14) is None and index.lookup(99) is None


def test_attributor_rereads_the_file_when_it_changes(tmp_path):
    api = tmp_path / "cg/api"
    (api / "child").mkdir(parents=True)
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"workloads": [{"cgroupPath": str(api), "name": "v1"}]}))
    now = [0.0]
    attributor = Attributor(str(meta), clock=lambda: now[0])
    child_id = (api / "child").stat().st_ino
    assert attributor.lookup(child_id).name == "v1"

    meta.write_text(json.dumps({"workloads": [{"cgroupPath": str(api), "name": "v2"}]}))
    os.utime(meta, (1, 1))  # a different mtime, whatever the clock resolution
    assert attributor.lookup(child_id).name == "v1"  # not looked at again yet
    now[0] += 5
    assert attributor.lookup(child_id).name == "v2"

    late = api / "late"
    late.mkdir()
    assert attributor.lookup(late.stat().st_ino).name == "v2"  # a new cgroup id walks again
