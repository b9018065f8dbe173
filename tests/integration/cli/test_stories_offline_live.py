"""`weft analyze FILE... --json` (offline) and the live services (`weft up` + `weft ingest`)
tell the same stories for the same files: the reference attack (runtime events of three
clusters, GuardDuty, Defender for Cloud and SCC alerts), the unrelated second attack,
and the declarations posture resolves the identity chain from (tests/data/
reference-attack-declarations/). Offline, every core runs over the inputs in event-time
order; live, the files go in as an operator might send them — alerts first, the attack's
events before the benign ones, declarations last — so the chain reaches detect after
the alerts it joins."""
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

pytestmark = pytest.mark.slow
WEFT = [sys.executable, "-m", "weft.cli.main"]
DATA = Path(__file__).resolve().parents[2] / "data"
ATTACK, SECOND = DATA / "reference-attack", DATA / "reference-attack" / "second-attack"
ALERTS = [ATTACK / "provider-alerts" / n for n in ("guardduty.json", "defender.json", "scc.json")] \
    + [SECOND / "guardduty.json"]
EVENTS = sorted((ATTACK / "events").glob("attack-*.jsonl")) + sorted((ATTACK / "events").glob("benign-*.jsonl")) \
    + sorted((SECOND / "events").glob("*.jsonl"))
DECLARATIONS = sorted(p for p in (DATA / "reference-attack-declarations").iterdir() if p.suffix != ".md")
UP_DEADLINE_S = 50
SETTLE_S = 8           # stories unchanged this long, every consumer caught up: live is done
LIVE_DEADLINE_S = 120


@pytest.fixture
def env(tmp_path):
    try:
        natsserver.binary()
    except natsserver.NatsUnavailable as e:
        pytest.skip(str(e))
    kept = {k: v for k, v in os.environ.items() if not k.startswith("WEFT_") and k != "OTEL_EXPORTER_OTLP_ENDPOINT"}
    return {**kept, "WEFT_DATA_DIR": str(tmp_path / "weft")}   # every window at its default, both ways


def weft(env, *args, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([*WEFT, *map(str, args)], env=env, capture_output=True, text=True, timeout=timeout)


def essentials(stories: list[dict]) -> dict[str, dict]:
    return {s["id"]: {"severity": s["severity"], "providers": sorted(s["providers"]),
                      "signals": sorted(x["id"] for x in s["signals"]), "agent": s["agent"]["name"],
                      "chain": [(x["provider"], x["principal"]) for x in s["identityChain"]]} for s in stories}


def offline(env) -> list[dict]:
    window = ["--learning-window", env["WEFT_LEARNING_WINDOW"]] if "WEFT_LEARNING_WINDOW" in env else []
    done = weft(env, "analyze", *EVENTS, *ALERTS, *DECLARATIONS, *window, "--json", timeout=180)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["problems"] == [], out["problems"]
    return out["stories"]


def settled_live_stories(env) -> list[dict]:
    """`weft stories --json` once it has not changed for SETTLE_S and every consumer of
    every stream (discovery's, posture's, detect's) has taken all there is."""
    deadline = time.monotonic() + LIVE_DEADLINE_S
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        answer = weft(env, "stories", "--json")
        assert answer.returncode == 0, answer.stderr
        stories = json.loads(answer.stdout)
        if stories != last:
            last, since = stories, time.monotonic()
        elif stories and time.monotonic() - since >= SETTLE_S and asyncio.run(caught_up(env)):
            return sorted(stories, key=lambda s: s["id"])
        time.sleep(1)
    raise AssertionError(f"live stories did not settle in {LIVE_DEADLINE_S}s; last: {essentials(last or [])}")


async def caught_up(env) -> bool:
    run = json.loads((Path(env["WEFT_DATA_DIR"]) / "weft.json").read_text())
    nc = await nats.connect(run["nats_url"], **nats_login(Endpoint(**run)).options())
    try:
        js = nc.jetstream()
        for stream in await js.streams_info():
            for c in await js.consumers_info(stream.config.name):
                if c.num_pending or c.num_ack_pending:
                    return False
        return True
    finally:
        await nc.close()


def provider_alert_ids() -> set[str]:
    """The ids each provider gave its alert of the reference attack."""
    guardduty, defender, scc = (json.loads(p.read_text()) for p in ALERTS[:3])
    return {guardduty["id"], defender["SystemAlertId"], scc["finding"]["name"]}


# The default window (24 h) keeps every profile learning; with 10 minutes the agents'
# profiles become ready between the benign traffic (08:52–08:55) and the attack (09:14),
# so weft's own baseline detections join the stories, and live they come from profiles
# that reach detect after the attack's events (sent first).
@pytest.mark.parametrize("window", ["", "10m"], ids=["learning", "ready-mid-stream"])
def test_offline_and_live_tell_the_same_stories(env, tmp_path, window):
    if window:
        env = {**env, "WEFT_LEARNING_WINDOW": window}
    told_offline = sorted(offline(env), key=lambda s: s["id"])
    try:
        up = weft(env, "up", "--detach", "--no-sensor", "--timeout", UP_DEADLINE_S, timeout=UP_DEADLINE_S + 30)
        assert up.returncode == 0, up.stdout + up.stderr
        ingest = weft(env, "ingest", *ALERTS, *EVENTS, *DECLARATIONS, "--json", timeout=120)
        assert ingest.returncode == 0, ingest.stdout + ingest.stderr
        assert all(r["accepted"] and not r.get("problems") for r in json.loads(ingest.stdout)["files"]), ingest.stdout
        told_live = settled_live_stories(env)
    finally:
        weft(env, "down", timeout=90)

    for told in (told_offline, told_live):
        whole = [s for s in told if {"AWS", "AZURE", "GCP"} <= set(s["providers"])]
        assert len(whole) == 1, f"one story over AWS, Azure and GCP: {essentials(told)}"
        whole = whole[0]
        assert whole["agent"]["name"] == "agents/support-bot" and whole["severity"] in ("HIGH", "CRITICAL")
        assert provider_alert_ids() <= {x["id"] for x in whole["signals"]}
        assert {x["provider"] for x in whole["identityChain"]} == {"KUBERNETES", "AWS", "AZURE", "GCP"}, \
            "the chain comes from posture's reading of the declarations"
        assert any(s["agent"]["name"] == "sales/lead-bot" for s in told if s is not whole), "the second attack"
        assert any(x["source"] == "WEFT" for x in whole["signals"]) == bool(window), "baseline rules on ready profiles"
    assert essentials(told_live) == essentials(told_offline)
    assert told_live == told_offline, "same stories, word for word (narrative, stages, severity reasons)"
