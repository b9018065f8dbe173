"""The lab with weft and a real eBPF sensor per cluster, up for one test."""
from __future__ import annotations

import json
import os

import pytest

from lab_support import wait_for, weft


@pytest.fixture
def lab_with_sensors(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEFT_")}
    env["WEFT_DATA_DIR"] = str(tmp_path / "weft")
    try:
        weft(env, "lab", "up", timeout=180)
        sensors = lambda: json.loads(weft(env, "status", "--json", check=False).stdout or "{}").get("sensors", [])
        loaded = lambda: {s.get("cluster") for s in sensors() if s.get("programs")}
        wait_for(lambda: loaded() >= {"eks", "aks", "gke"}, 120, "three lab sensors with their programs loaded")
        yield env
    finally:
        weft(env, "lab", "down", check=False)
        weft(env, "down", check=False)
