"""`weft sensor` against `weft up`'s gateway (mutual TLS by default) with no TLS flags:
it takes a certificate for its cluster and node from the running weft's development CA.
A recording whose events name another node is refused, with the reason, exit code 3."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gateway_kit import RECORDED

pytestmark = pytest.mark.slow
WEFT = [sys.executable, "-m", "weft.cli.main"]


def test_a_sensor_dials_weft_up_with_a_certificate_for_its_own_node(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEFT_", "OTEL_"))}
    env["WEFT_DATA_DIR"] = str(tmp_path / "weft")
    run = lambda *a: subprocess.run([*WEFT, *a], env=env, capture_output=True, text=True, timeout=120)
    lines = [json.loads(l) for l in RECORDED.read_text().splitlines()[:20]]
    own, foreign = tmp_path / "own.jsonl", tmp_path / "foreign.jsonl"
    own.write_text("".join(json.dumps({k: v for k, v in ev.items() if k != "node"}) + "\n" for ev in lines))
    foreign.write_text("".join(json.dumps(ev) + "\n" for ev in lines))   # they name eks/node-0
    up = run("up", "--detach", "--no-sensor", "--timeout", "60")
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        ok = run("sensor", "--source", "replay", str(own), "--cluster", "eks", "--node", "node-9",
                 "--speed", "0", "--json")
        assert ok.returncode == 0, ok.stderr
        summary = json.loads(ok.stdout)
        assert summary["events_total"] == 20 and summary["acked"] == summary["batches"]
        refused = run("sensor", "--source", "replay", str(foreign), "--cluster", "eks", "--node", "node-9",
                      "--speed", "0")
        assert refused.returncode == 3
        assert "the gateway refused this sensor: event 'ev-00000' claims cluster 'eks' node 'node-0', " \
               "but the client certificate is for cluster 'eks' node 'node-9'" in refused.stderr
    finally:
        down = run("down")
        assert down.returncode == 0, down.stderr
