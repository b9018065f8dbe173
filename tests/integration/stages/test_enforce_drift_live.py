"""enforce watches deployed policy documents and publishes drift on weft.drift.v1:
nothing for a faithful deployment, the missing resource once one is deleted."""
from __future__ import annotations

import json
from pathlib import Path

from stagekit import running, wait_for
from weft.cli.main import main as weft
from weft.v1 import bus_pb2

INTENT = Path(__file__).resolve().parents[3] / "examples" / "policies" / "support-agent.yaml"


async def reports(js) -> list[bus_pb2.DriftReport]:
    info = await js.stream_info("WEFT_DRIFT")
    if not info.state.messages:
        return []
    return [bus_pb2.DriftReport.FromString((await js.get_msg("WEFT_DRIFT", seq)).data)
            for seq in range(info.state.first_seq, info.state.last_seq + 1)]


async def test_drift_is_published_when_what_is_deployed_changes(build_stage, nats_client, tmp_path):
    deployed = tmp_path / "deployed"
    assert weft(["policy", "compile", str(INTENT), "--target", "all", "--out", str(deployed)]) == 0
    (deployed / "manifest.json").unlink()
    stage = build_stage("enforce", drift_intents=[str(INTENT)], drift_deployed=str(deployed), drift_interval=0.3)
    js = nats_client.jetstream()
    async with running(stage):
        (first,) = await wait_for(lambda: reports(js), timeout=60, what="the first drift report")
        assert (first.drift, first.differences) == (False, 0), first.report_json[:2000]
        victim = next(p for p in sorted(deployed.rglob("*")) if p.is_file())
        victim.unlink()

        async def second():
            found = await reports(js)
            return found if len(found) > 1 else None
        latest = (await wait_for(second, timeout=60, what="a report of the deleted resource"))[-1]
    assert latest.drift and latest.differences >= 1
    kinds = {d["kind"] for d in json.loads(latest.report_json)["differences"]}
    assert "missing" in kinds, (victim, kinds)
    assert stage.status()["drift"][str(INTENT)]["drift"] is True
