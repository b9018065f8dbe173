"""detect turns provider alerts from the bus into OCSF alerts on weft.alerts.v1:
real GuardDuty and Defender samples, a broken record dead-lettered with its reason,
the same finding ingested twice stored and published once; and a rule's alert that a
replica died before publishing is published when the batch is delivered again."""
from __future__ import annotations

import json

from stagekit import DATA, dead_letters, publish_events, raw_record, running, wait_for
from weft.common import bus, subjects
from weft.detect import store as detect_store
from weft.v1 import alert_pb2

GUARDDUTY = "provider-findings/aws-guardduty/panther-analysis/aws_guardduty_critical_sev_findings__critical-sev-finding.json"


async def published_alerts(js) -> list[alert_pb2.Alert]:
    info = await js.stream_info("WEFT_ALERTS")
    if not info.state.messages:
        return []
    return [alert_pb2.Alert.FromString((await js.get_msg("WEFT_ALERTS", seq)).data)
            for seq in range(info.state.first_seq, info.state.last_seq + 1)]


async def test_provider_alerts_become_ocsf_alerts_once(build_stage, nats_client, fixtures_dir):
    stage = build_stage("detect")
    js = nats_client.jetstream()
    sample = json.loads((fixtures_dir / GUARDDUTY).read_bytes())
    finding = sample.get("Log", sample) if isinstance(sample, dict) else sample
    data = json.dumps(finding).encode()
    async with running(stage):
        for _ in range(2):   # the same finding ingested twice (two files, two webhooks)
            await bus.publish(js, subjects.signals("aws"), raw_record("guardduty", data), msg_id=None)
        await bus.publish(js, subjects.signals("aws"), raw_record("guardduty", b'{"id": "x", "type": 7}'))
        found = await wait_for(lambda: published_alerts(js), what="an alert on weft.alerts.v1")
        letters = await wait_for(lambda: dead_letters(js), what="the broken record's dead letter")
    (alert,) = found
    ocsf = json.loads(alert.ocsf_json)
    assert (alert.source, ocsf["class_uid"]) == ("GUARDDUTY", 2004)
    assert alert.id == finding["id"] == ocsf["finding_info"]["uid"]
    assert ocsf["cloud"]["provider"] == "AWS" and alert.severity_id == ocsf["severity_id"]
    [(_, letter)] = letters
    assert "GuardDuty" in letter.reason and letter.subject == "weft.signals.v1.aws"
    assert [a.id for a in detect_store.alerts(stage.engine)] == [alert.id]


async def test_a_batch_whose_alerts_were_not_published_is_judged_again(build_stage, nats_client):
    stage = build_stage("detect")
    detected, calls = stage.handlers.detected, []

    async def dies_once(fired):
        calls.append(len(fired))
        if len(calls) == 1 and fired:   # the replica dies after judging, before publishing
            raise ConnectionError("killed before the alerts went out")
        await detected(fired)
    stage.handlers.detected = dies_once
    js = nats_client.jetstream()
    async with running(stage):
        await publish_events(js, DATA / "second-attack" / "events")   # a reverse shell: rule reverse_shell

        async def weft_alerts():
            return [a for a in await published_alerts(js) if a.source == "WEFT"]
        found = await wait_for(weft_alerts, what="the rule's alert, on the redelivery")
        await wait_for(lambda: stage.tally.handled == 2, what="both batches recorded")
    assert len(found) == len({a.id for a in found}) >= 1
    assert [a.id for a in detect_store.alerts(stage.engine) if a.source == "WEFT"] == [a.id for a in found]
