"""`weft lab status`: the lab as it is now, read from its state file and the live system."""
from __future__ import annotations

from pathlib import Path

from weft.lab import cgroups, metadata, netns, processes, state, topology
from weft.lab.state import LabState
from weft.lab.topology import DNS_ADDRESS


def describe(data_dir: Path) -> dict | None:
    """The lab as it is now (None if no lab is up): what `status` and `up --json` print."""
    lab = state.lab_dir(data_dir)
    st = state.load(lab)
    if st is None:
        return None
    alive = {k: processes.alive(pid, st.cmdlines.get(k, "\0")) for k, pid in st.pids.items()}
    return {
        "complete": st.complete,
        "dns": {"address": DNS_ADDRESS, "pid": st.pids.get("dns"), "running": alive.get("dns", False)},
        "clusters": [_describe_cluster(lab, st, c, alive) for c in topology.CLUSTERS],
        "startedWeft": st.started_weft,
        "stateFile": str(state.state_file(lab)),
    }


def _describe_cluster(lab: Path, st: LabState, c: topology.Cluster, alive: dict) -> dict:
    key = f"sensor-{c.name}"
    workloads = metadata.read(metadata.file_for(lab, c.name))
    return {
        "name": c.name, "provider": c.provider, "region": c.region, "node": c.node,
        "netns": c.netns, "netnsExists": netns.exists(c.netns), "address": c.address,
        "egressIp": c.egress_ip, "subnet": c.subnet, "cgroup": str(cgroups.path(c.cgroup)),
        "metadataFile": str(metadata.file_for(lab, c.name)),
        "workloads": [f"{w['namespace']}/{w['name']}" for w in workloads],
        "services": [topology.service_name(c.name, w["namespace"], w["name"]) for w in workloads],
        "processes": len(cgroups.pids(c.cgroup)) if cgroups.path(c.cgroup).exists() else 0,
        "sensor": {"pid": st.pids.get(key), "running": alive.get(key, False),
                   "status": st.sensors.get(c.name, "not started (--no-weft)")},
    }
