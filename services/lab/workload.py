"""`weft lab exec`: run a command as a workload of one cluster, i.e. inside the cluster's
network namespace (with its resolv.conf) and the workload's cgroup, with a metadata
entry the sensor attributes it by and a service name the lab DNS answers."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from weft.lab import cgroups, metadata, netns, state, topology

DEFAULT_WORKLOAD = "default/exec"


class WorkloadError(RuntimeError):
    pass


def parse(ref: str) -> tuple[str, str]:
    """"NS/NAME" -> (namespace, name), both checked as DNS labels."""
    namespace, sep, name = ref.partition("/")
    if not sep:
        raise WorkloadError(f"workload {ref!r} is not NAMESPACE/NAME (e.g. payments/api)")
    try:
        return topology.check_name("namespace", namespace), topology.check_name("workload", name)
    except ValueError as e:
        raise WorkloadError(str(e)) from None


def prepare(lab: Path, cluster: str, ref: str, service_account: str = "") -> tuple[dict, str]:
    """Create the workload's cgroup and metadata entry if new; returns (entry, cgroup)."""
    st = state.load(lab)
    if st is None or not st.complete:
        raise WorkloadError("no lab is up: start one with `weft lab up`")
    try:
        topology.cluster(cluster)
        if service_account:
            topology.check_name("service account", service_account)
    except (KeyError, ValueError) as e:
        raise WorkloadError(e.args[0]) from None
    namespace, name = parse(ref)
    relative = topology.workload_cgroup(cluster, namespace, name)
    cgroups.create(relative)
    return metadata.upsert(lab, cluster, namespace, name, service_account), relative


def run(lab: Path, cluster: str, ref: str, argv: list[str], service_account: str = "") -> int:
    """Run argv as the workload; returns its exit code (128+N if killed by signal N)."""
    if not argv:
        raise WorkloadError("no command given: weft lab exec CLUSTER -- CMD...")
    if os.geteuid() != 0:
        raise WorkloadError("`weft lab exec` needs root (it enters namespaces and cgroups)")
    _entry, relative = prepare(lab, cluster, ref, service_account)
    procs_file = cgroups.path(relative) / "cgroup.procs"

    def enter_cgroup() -> None:
        procs_file.write_text("0\n")   # "0" moves the writer: the child, before it execs

    proc = subprocess.Popen(netns.exec_argv(topology.cluster(cluster).netns, argv), preexec_fn=enter_cgroup)
    forward = lambda signum, _frame: proc.send_signal(signum)   # noqa: E731
    previous = signal.signal(signal.SIGTERM, forward)
    try:
        while True:
            try:
                code = proc.wait()
                break
            except KeyboardInterrupt:
                continue   # the child got the same SIGINT from the terminal: wait for its exit
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 128 - code if code < 0 else code
