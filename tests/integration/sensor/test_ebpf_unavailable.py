"""Where eBPF cannot load, one clear message says why — never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from weft.sensor.ebpf import EbpfCollector, EbpfConfig
from weft.sensor.errors import SensorUnavailable, preflight
from weft.v1 import event_pb2

ENTRY = [sys.executable, "-m", "weft.sensor.ebpf", "--seconds", "0.1"]


def run_entry(prefix: list[str] = (), env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, *ENTRY], capture_output=True, text=True, timeout=60,
                          cwd="/", env={**os.environ, **(env or {})})


def test_not_root_gets_one_clear_message():
    drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    drop = drop if os.geteuid() == 0 else []
    if drop and subprocess.run([*drop, sys.executable, "-c", "pass"], cwd="/").returncode:
        pytest.skip("this Python cannot be run as nobody here (e.g. it lives under /root)")
    res = run_entry(drop)
    assert res.returncode == 2, res.stderr
    assert "eBPF sensor unavailable: not running as root" in res.stderr
    assert "Traceback" not in res.stderr
    assert res.stdout == ""


def test_missing_headers_link_is_named(tmp_path):
    missing = tmp_path / "lib/modules/x/build"
    res = run_entry(env={"WEFT_KERNEL_BUILD_DIR": str(missing)})
    assert res.returncode == 2
    assert f"kernel headers link missing ({missing} absent" in res.stderr
    assert "Traceback" not in res.stderr

    collector = EbpfCollector(EbpfConfig(node=event_pb2.Node(name="n"),
                                         kernel_build_dir=str(missing)))
    with pytest.raises(SensorUnavailable) as caught:
        collector.start()  # refused before anything compiles
    assert any(p.startswith("kernel headers link missing") for p in caught.value.problems)
    assert str(caught.value).startswith("eBPF sensor unavailable: ")


def test_tracefs_not_mounted_is_named(tmp_path):
    problems = preflight(tracefs=str(tmp_path))
    assert any(p.startswith(f"tracefs not mounted at {tmp_path}") for p in problems)


@pytest.mark.ebpf
def test_this_machine_passes_preflight():
    if os.geteuid() != 0:
        pytest.skip("real eBPF needs root")
    assert preflight() == []


def test_weft_sensor_says_what_is_missing_before_it_dials_the_gateway(tmp_path):
    """The user-facing command, not only the module: one line, exit 2, no traceback."""
    weft = [sys.executable, "-m", "weft.cli.main", "sensor", "--source", "ebpf", "--cluster", "x",
            "--gateway", "127.0.0.1:1"]
    drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    for prefix, env, expected in ((drop, {}, "not running as root"),
                                  ([], {"WEFT_KERNEL_BUILD_DIR": str(tmp_path / "none")}, "kernel headers link missing")):
        res = subprocess.run([*prefix, *weft], capture_output=True, text=True, timeout=30, cwd="/",
                             env={**os.environ, "WEFT_DATA_DIR": str(tmp_path), **env})
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        [line] = res.stderr.strip().splitlines()
        assert line.startswith("weft sensor: eBPF sensor unavailable:") and expected in line
