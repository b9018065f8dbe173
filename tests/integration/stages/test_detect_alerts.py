"""detect turns provider alerts from the bus into OCSF alerts on weft.alerts.v1:
real GuardDuty and Defender samples, a broken record dead-lettered with its reason,
the same finding ingested twice stored and published once."""
from __future__ import annotations

import json

from stagekit import dead_letters, raw_record, running, wait_for
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
