"""`weft lab up` / `down`: make the three clusters, recording each thing in the state file
before making it, and remove exactly what the state file lists."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from weft.lab import cgroups, metadata, netns, processes, sensors, state, topology
from weft.lab.state import LabState
from weft.lab.topology import CORE_NETNS, DNS_ADDRESS, SYSTEM_CGROUP


class LabError(RuntimeError):
    pass


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, cgroups): run it as root")


def up(data_dir: Path, with_weft: bool = True) -> LabState:
    require_root()
    lab = state.lab_dir(data_dir)
    if (old := state.load(lab)) is not None:
        raise LabError("a lab is already up: `weft lab status` shows it, `weft lab down` removes it"
                       if old.complete else "a previous `weft lab up` did not finish: run `weft lab down`")
    st = LabState()
    try:
        _make_network(lab, st)
        _make_cgroups(lab, st)
        for c in topology.CLUSTERS:   # the sensors read these from their start on
            metadata.write(metadata.file_for(lab, c.name), [])
        _start_dns(lab, st)
        if with_weft:
            _start_sensors(lab, Path(data_dir), st)
        st.complete = True
        state.save(lab, st)
    except Exception as e:
        leftovers = down(data_dir)
        raise LabError(f"{e} ({'could not remove: ' + '; '.join(leftovers) if leftovers else 'removed what it made'})") from e
    return st


def _make_network(lab: Path, st: LabState) -> None:
    for name in [CORE_NETNS] + [c.netns for c in topology.CLUSTERS]:
        if netns.exists(name):
            raise LabError(f"network namespace {name} exists but is not this lab's (a lab with another "
                           f"--data-dir?): `weft lab down` it there, or `ip netns delete {name}`")
        st.namespaces.append(name)
        state.save(lab, st)
        netns.create(name)
    netns.setup_core(CORE_NETNS)
    for c in topology.CLUSTERS:
        st.veths.append(f"{CORE_NETNS}/{c.core_veth}")
        state.save(lab, st)
        netns.link_cluster(CORE_NETNS, c)
        st.etc_files += netns.write_etc(c.netns, "resolv.conf", topology.resolv_conf(c))
        state.save(lab, st)


def _make_cgroups(lab: Path, st: LabState) -> None:
    if cgroups.path(topology.CGROUP_ROOT).exists():
        raise LabError(f"cgroup {cgroups.path(topology.CGROUP_ROOT)} exists but is not this lab's: "
                       "remove it first")
    st.cgroups.append(topology.CGROUP_ROOT)
    state.save(lab, st)
    for c in topology.CLUSTERS:
        cgroups.create(c.cgroup)


def _record(lab: Path, st: LabState):
    def record(key: str, pid: int, marker: str) -> None:
        st.pids[key], st.cmdlines[key] = pid, marker
        state.save(lab, st)
    return record


def _start_dns(lab: Path, st: LabState) -> None:
    log = lab / "dns.log"
    argv = netns.exec_argv(CORE_NETNS, [sys.executable, "-m", "weft.lab.dns",
                                        "--listen", DNS_ADDRESS, "--lab-dir", str(lab)])
    proc = processes.spawn(argv, f"{SYSTEM_CGROUP}/dns", log)
    _record(lab, st)("dns", proc.pid, "weft.lab.dns")
    try:
        processes.wait_udp_bound(proc, DNS_ADDRESS, 53, log)
    except RuntimeError as e:
        raise LabError(f"the lab DNS did not start: {e}") from None


def _start_sensors(lab: Path, data_dir: Path, st: LabState) -> None:
    gateway, st.started_weft, why = sensors.find_gateway(data_dir, start_weft=True)
    state.save(lab, st)
    if not gateway:
        st.sensors = {c.name: f"not started: {why}" for c in topology.CLUSTERS}
        return
    st.sensors = sensors.start_all(lab, gateway, _record(lab, st))


def stop_sensor(data_dir: Path, cluster: str) -> None:
    """Stop one cluster's sensor (SIGTERM, then SIGKILL): what it enforces stays in the kernel."""
    lab, st, c = _running_lab(data_dir, cluster)
    k = sensors.key(c)
    if k in st.pids:
        processes.stop({st.pids[k]: st.cmdlines.get(k, "\0")})
    st.sensors[c.name] = "stopped (`weft lab sensor start`)"
    state.save(lab, st)


def start_sensor(data_dir: Path, cluster: str) -> str:
    """Start one cluster's sensor again; returns "running" or why it is not."""
    lab, st, c = _running_lab(data_dir, cluster)
    k = sensors.key(c)
    if k in st.pids and processes.alive(st.pids[k], st.cmdlines.get(k, "\0")):
        raise LabError(f"the {c.name} sensor already runs (pid {st.pids[k]})")
    gateway, _started, why = sensors.find_gateway(data_dir, start_weft=False)
    if not gateway:
        raise LabError(f"no weft to attach the sensor to: {why}")
    st.sensors.update(sensors.start_all(lab, gateway, _record(lab, st), [c]))
    state.save(lab, st)
    return st.sensors[c.name]


def _running_lab(data_dir: Path, cluster: str):
    require_root()
    lab = state.lab_dir(data_dir)
    st = state.load(lab)
    if st is None or not st.complete:
        raise LabError("no lab is up: start one with `weft lab up`")
    try:
        return lab, st, topology.cluster(cluster)
    except KeyError as e:
        raise LabError(e.args[0]) from None


def down(data_dir: Path) -> list[str]:
    """Remove what the state file lists; returns what could not be removed (empty: all)."""
    require_root()
    lab = state.lab_dir(data_dir)
    st = state.load(lab)
    if st is None:
        return []
    errors: list[str] = []
    steps = [
        lambda: processes.stop({st.pids[k]: st.cmdlines.get(k, "\0") for k in st.pids}),
        *[lambda sub=sub: (cgroups.kill_all(sub), cgroups.remove_tree(sub)) for sub in st.cgroups],
        *[lambda v=v: _delete_veth(v) for v in st.veths],
        *[lambda ns=ns: netns.delete(ns) for ns in st.namespaces],
        *[lambda p=p: _remove_etc(Path(p)) for p in reversed(st.etc_files)],
        *[lambda c=c: metadata.remove_files(lab, c.name) for c in topology.CLUSTERS],
        *[lambda c=c: _remove_pins(c) for c in topology.CLUSTERS],
    ]
    if st.started_weft:
        steps.append(lambda: _weft_down(data_dir))
    for step in steps:
        try:
            step()
        except Exception as e:   # keep going: remove all that can be removed
            errors.append(str(e))
    if not errors:
        state.forget(lab)
    return errors


def _remove_pins(c) -> None:
    """The lab sensors' enforcement pins (their programs go with the cgroups just removed)."""
    import shutil
    from weft.sensor.enforcing import pin_dir
    from weft.v1 import event_pb2
    root = os.environ.get("WEFT_BPF_PIN_ROOT", "/sys/fs/bpf/weft")
    pins = Path(pin_dir(root, event_pb2.Node(cluster=c.name, name=c.node)))
    if pins.exists():
        shutil.rmtree(pins)
        for parent in (pins.parent, pins.parent.parent):
            if parent.exists() and not any(parent.iterdir()) and str(parent) != root:
                parent.rmdir()


def _delete_veth(recorded: str) -> None:
    ns, dev = recorded.split("/", 1)
    if netns.exists(ns) and dev in netns.ip("-n", ns, "-o", "link", "show"):
        netns.ip("-n", ns, "link", "delete", dev)


def _remove_etc(p: Path) -> None:
    if p.is_dir():
        if not any(p.iterdir()):   # someone else's files there: leave the directory
            p.rmdir()
    else:
        p.unlink(missing_ok=True)


def _weft_down(data_dir: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "weft.cli.main", "down"], capture_output=True, text=True,
                          env={**os.environ, "WEFT_DATA_DIR": str(data_dir)}, timeout=60)
    if done.returncode:
        raise LabError(f"`weft down` failed: {(done.stderr or done.stdout).strip()[-300:]}")

