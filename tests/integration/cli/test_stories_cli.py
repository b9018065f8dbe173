"""The story commands against a running weft: the reference attack's story listed, read
as Markdown, triaged, and `weft respond --apply` puts a containment policy in force."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nats
import pytest

from weft.cli.endpoint import Endpoint, nats_login
from weft.common import natsserver

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stages"))
from test_detect_stories import publish_attack  # noqa: E402  the same attack, published the same way

WEFT = [sys.executable, "-m", "weft.cli.main"]


@pytest.fixture
def weft_up(tmp_path):
    try:
        natsserver.binary()
    except natsserver.NatsUnavailable as e:
        pytest.skip(str(e))
    env = {k: v for k, v in os.environ.items() if k not in ("WEFT_ENDPOINT", "WEFT_DATA_DIR")}
    env["WEFT_DATA_DIR"] = str(tmp_path / "weft")
    up = subprocess.run([*WEFT, "up", "--detach", "--no-sensor", "--timeout", "50"], env=env, capture_output=True,
                        text=True, timeout=80)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield env
    finally:
        subprocess.run([*WEFT, "down"], env=env, capture_output=True, timeout=90)


def weft(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([*WEFT, *args], env=env, capture_output=True, text=True, timeout=60)


def test_story_commands_and_respond(weft_up):
    env = weft_up
    endpoint = json.loads((Path(env["WEFT_DATA_DIR"]) / "weft.json").read_text())

    async def publish():
        nc = await nats.connect(endpoint["nats_url"], **nats_login(Endpoint(**endpoint)).options())
        await publish_attack(nc.jetstream())
        await nc.close()
    asyncio.run(publish())
    deadline, stories = time.monotonic() + 60, []
    while time.monotonic() < deadline:
        stories = [s for s in json.loads(weft(env, "stories", "--json").stdout or "[]")
                   if {"AWS", "AZURE", "GCP"} <= set(s["providers"])]
        if stories:
            break
        time.sleep(0.5)
    (story,) = stories
    md = weft(env, "story", story["id"]).stdout
    assert md.startswith("#") and story["id"] in md
    assert "acknowledged" in weft(env, "story", story["id"], "--ack").stdout

    plan = json.loads(weft(env, "respond", story["id"], "--apply", "--json").stdout)
    assert {(a["name"], a["mode"]) for a in plan["applied"]} == {("support-bot-containment", "enforce"),
                                                              ("storage-tool-containment", "enforce")}
    assert {s["provider"] for s in plan["providerSteps"]} >= {"AWS", "AZURE", "GCP"}
    listed = weft(env, "policy", "list", "--json").stdout
    assert "support-bot-containment" in {p["name"] for p in json.loads(listed)}
