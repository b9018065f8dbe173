"""Workload metadata entries (what the sensor attributes cgroups by) and `lab exec` refs."""
import re

import pytest

from weft.lab import metadata
from weft.lab.workload import WorkloadError, parse


def test_entry_has_the_fields_the_sensor_reads():
    e = metadata.entry("aks", "payments", "api")
    assert e["cgroupPath"] == "/sys/fs/cgroup/unified/weft-lab/aks/payments/api"
    assert (e["namespace"], e["container"], e["name"], e["kind"]) == ("payments", "api", "api", "Deployment")
    assert (e["serviceAccount"], e["image"], e["labels"]) == ("api", "lab/api:1", {"app": "api"})
    assert re.fullmatch(r"api-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}", e["pod"])
    assert re.fullmatch(r"[0-9a-f]{64}", e["containerId"])


def test_entries_are_deterministic_and_distinct():
    assert metadata.entry("aks", "payments", "api") == metadata.entry("aks", "payments", "api")
    ids = {metadata.entry(c, "payments", "api")["containerId"] for c in ("eks", "aks", "gke")}
    assert len(ids) == 3
    assert metadata.entry("aks", "payments", "api", "reader")["serviceAccount"] == "reader"


def test_write_then_read(tmp_path):
    path = metadata.file_for(tmp_path, "eks")
    metadata.write(path, [metadata.entry("eks", "agents", "agent")])
    assert [w["name"] for w in metadata.read(path)] == ["agent"]
    assert metadata.read(tmp_path / "missing.json") == []


def test_workload_refs():
    assert parse("payments/api") == ("payments", "api")
    for bad in ("api", "Payments/api", "payments/", "a/b/c"):
        with pytest.raises(WorkloadError):
            parse(bad)
