"""One trace per batch: the replay sensor's, discovery's and detect's spans share its id.

Runs the real thing: `weft up --detach` (separate processes), a replay sensor
process, and the trace files each service's default exporter writes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline_support import RECORDED

pytestmark = pytest.mark.slow
WEFT = [sys.executable, "-m", "weft.cli.main"]


def spans(data: Path, service: str) -> list[dict]:
    path = data / "traces" / f"weft-{service}.jsonl"
    return [json.loads(l) for l in path.read_text().splitlines()] if path.exists() else []


def test_one_trace_follows_a_batch_through_sensor_gateway_and_detect(tmp_path):
    data = tmp_path / "weft"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEFT_", "OTEL_"))}
    env["WEFT_DATA_DIR"] = str(data)
    run = lambda *a, timeout=90: subprocess.run([*WEFT, *a], env=env, capture_output=True, text=True, timeout=timeout)
    # the recording holds several clusters' nodes: one replay sensor cannot hold all their certificates
    up = run("up", "--detach", "--no-sensor", "--insecure-gateway", "--timeout", "60")
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        replay = run("sensor", "--source", "replay", str(RECORDED), "--cluster", "eks", "--speed", "0", "--json")
        assert replay.returncode == 0, replay.stderr
        sent = json.loads(replay.stdout)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # detect exports its spans every 0.5 s
            detect_traces = {s["traceId"] for s in spans(data, "detect")
                             if s["attributes"].get("weft.batch.size")}
            if len(detect_traces) >= sent["batches"]:
                break
            time.sleep(0.3)
    finally:
        down = run("down")
        assert down.returncode == 0, down.stderr
    sensor = {s["traceId"]: s for s in spans(data, "sensor") if s["name"] == "sensor batch"}
    gateway = {s["traceId"]: s for s in spans(data, "discovery") if s["name"] == "discovery gateway batch"}
    detect = {s["traceId"] for s in spans(data, "detect")}
    assert len(sensor) == sent["batches"] >= 1
    for trace_id, root in sensor.items():
        assert trace_id in gateway, "discovery's span is not in the sensor's trace"
        assert trace_id in detect, "detect's span is not in the sensor's trace"
        assert gateway[trace_id]["parentSpanId"] == root["spanId"]
        assert gateway[trace_id]["attributes"]["weft.cluster"] == "eks"
        assert gateway[trace_id]["attributes"]["weft.batch.size"] == root["attributes"]["weft.batch.size"]
