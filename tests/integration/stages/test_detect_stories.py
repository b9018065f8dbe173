"""detect tells the reference attack as one story live: runtime events, the three
providers' alerts (as discovery's ingest publishes them) and posture's identity chain
arrive on the bus; one HIGH or CRITICAL story over AWS, Azure and GCP goes out on
weft.stories.v1, is served as JSON, Markdown and OCSF, survives a restart of detect,
and can be triaged."""
from __future__ import annotations

import aiohttp

from stagekit import publish_attack, running, stories_on_bus, wait_for

async def get(port: int, path: str, method: str = "GET", body=None):
    async with aiohttp.ClientSession() as s, s.request(method, f"http://127.0.0.1:{port}{path}", json=body) as r:
        return r.status, (await r.json() if r.content_type == "application/json" else await r.text())


async def test_the_reference_attack_is_one_story_that_survives_a_restart(build_stage, nats_client):
    js = nats_client.jetstream()
    stage = build_stage("detect")
    async with running(stage):
        await publish_attack(js)

        async def three_providers():
            _, body = await get(stage.http_port, "/v1/stories")
            full = [s for s in body["stories"] if {"AWS", "AZURE", "GCP"} <= set(s["providers"])]
            return full or None
        (story,) = await wait_for(three_providers, timeout=60, what="a story over all three providers")
        assert story["severity"] in ("HIGH", "CRITICAL"), story["severityReasons"]
        assert len(story["signals"]) >= 3 and story["agent"]["serviceAccount"] == "support-bot"
        status, md = await get(stage.http_port, f"/v1/stories/{story['id']}?format=markdown")
        assert status == 200 and story["id"] in md and "Narrative" in md
        status, ocsf = await get(stage.http_port, f"/v1/stories/{story['id']}?format=ocsf")
        assert ocsf["class_uid"] == 2005
        published = await wait_for(lambda: stories_on_bus(js), what="stories on weft.stories.v1")
        assert story["id"] in {s.id for s in published}

    restarted = build_stage("detect")
    async with running(restarted):
        status, again = await get(restarted.http_port, f"/v1/stories/{story['id']}")
        assert status == 200 and again["severity"] == story["severity"], "open stories survive a restart"
        status, acked = await get(restarted.http_port, f"/v1/stories/{story['id']}/triage", "POST", {"action": "ack"})
        assert status == 200 and acked["story"]["status"] == "acknowledged"
        status, bad = await get(restarted.http_port, f"/v1/stories/{story['id']}/triage", "POST", {"action": "nope"})
        assert status == 400
