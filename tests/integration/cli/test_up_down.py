"""`weft up --detach`, `weft status --json` and `weft down` against the real stages and nats-server."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from weft.common import natsserver

pytestmark = pytest.mark.slow
WEFT = [sys.executable, "-m", "weft.cli.main"]
UP_DEADLINE_S = 50     # `weft up --timeout`; the subprocess gets a little more
STAGES = {"discovery", "posture", "detect", "enforce"}


@pytest.fixture
def env():
    try:
        natsserver.binary()
    except natsserver.NatsUnavailable as e:
        pytest.skip(str(e))
    return {k: v for k, v in os.environ.items() if k not in ("WEFT_ENDPOINT", "WEFT_DATA_DIR")}


def weft(env, *args, timeout=30):
    return subprocess.run([*WEFT, *args], env=env, capture_output=True, text=True, timeout=timeout)


def running(pid: int) -> bool:
    """Alive and not a zombie (the container's init may be slow to reap orphans)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_up_detach_status_down(tmp_path, env):
    data = str(tmp_path / "weft")
    try:
        up = weft(env, "up", "--detach", "--no-sensor", "--data-dir", data, "--timeout", str(UP_DEADLINE_S),
                  timeout=UP_DEADLINE_S + 30)
        assert up.returncode == 0, up.stdout + up.stderr
        assert "weft is up" in up.stdout
        pids = json.loads((tmp_path / "weft" / "weft.json").read_text())["pids"]
        assert {"supervisor", "nats", *STAGES} <= set(pids) and all(map(running, pids.values()))

        status = weft(env, "status", "--json", "--data-dir", data)
        report = json.loads(status.stdout)
        assert {s["name"] for s in report["services"] if s["ready"]} == STAGES, status.stdout
        assert report["nats"]["up"] and status.returncode == 0

        again = weft(env, "up", "--detach", "--no-sensor", "--data-dir", data)
        assert again.returncode == 1 and again.stderr.startswith("weft up: weft is already running")
        assert "Traceback" not in again.stderr

        down = weft(env, "down", "--data-dir", data, timeout=90)
        assert down.returncode == 0, down.stderr
        assert not [name for name, pid in pids.items() if running(pid)]
        assert not (tmp_path / "weft" / "weft.json").exists()
        assert "stopped supervisor" in down.stdout
    finally:
        weft(env, "down", "--data-dir", data, timeout=90)


def test_foreground_up_stops_everything_on_ctrl_c(tmp_path, env):
    run_file = tmp_path / "weft.json"
    up = subprocess.Popen([*WEFT, "up", "--no-sensor", "--data-dir", str(tmp_path)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + UP_DEADLINE_S
        while not run_file.exists() and up.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert run_file.exists(), up.stdout.read() if up.poll() is not None else "not up in time"
        pids = json.loads(run_file.read_text())["pids"]
        up.send_signal(signal.SIGINT)
        out, _ = up.communicate(timeout=90)
        assert up.returncode == 0, out
        assert "stopping weft (SIGINT)" in out and "nats       … stopped" in out
        assert not [name for name, pid in pids.items() if running(pid)]
        assert not run_file.exists()
    finally:
        if up.poll() is None:
            up.terminate()
            up.wait(90)


def test_down_never_signals_a_pid_that_now_runs_something_else(tmp_path, env):
    unrelated = subprocess.Popen(["sleep", "60"])
    try:
        run_file = tmp_path / "weft.json"
        run_file.write_text(json.dumps({
            "nats_url": "nats://127.0.0.1:1", "data_dir": str(tmp_path),
            "pids": {"supervisor": unrelated.pid, "discovery": unrelated.pid},
            "cmdlines": {"supervisor": [sys.executable, "-m", "weft.cli.main", "up", "--_supervise"],
                         "discovery": [sys.executable, "-m", "weft.discovery"]}}))
        down = weft(env, "down", "--data-dir", str(tmp_path))
        assert down.returncode == 0, down.stderr
        assert unrelated.poll() is None
        assert f"left pid {unrelated.pid} alone" in down.stdout
        assert not run_file.exists()
    finally:
        unrelated.kill()
        unrelated.wait()


def test_down_with_nothing_running_says_so(tmp_path, env):
    down = weft(env, "down", "--data-dir", str(tmp_path))
    assert down.returncode == 0 and "no weft is running" in down.stdout
