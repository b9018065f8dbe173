"""enforce's live drift watch: every interval, each configured intent is compared with
the deployed documents exported into a directory (by a CI job, a GitOps sync, an
exporter), and the report is published on weft.drift.v1 when it changed."""
from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path

from weft.common import bus, subjects
from weft.enforce.core import drift
from weft.enforce.core.drift_report import to_message
from weft.enforce.core.lowering import load_policy
from weft.v1 import bus_pb2

log = logging.getLogger(__name__)


def check(intent: Path, deployed: Path) -> bus_pb2.DriftReport:
    """One intent's report as the bus carries it; a bad intent or deployed file is an
    error for the operator (logged), not a crash."""
    policy, _warnings = load_policy(intent)
    report = drift.report_for(policy, str(intent), deployed)
    return bus_pb2.DriftReport(intent=str(intent), deployed=str(deployed), drift=report.drift,
                               differences=len(report.differences), report_json=to_message(report).decode())


async def watch(stage, intents: list[Path], deployed: Path, interval: float) -> None:
    last: dict[str, str] = {}
    while not stage.stop_event.is_set():
        for intent in intents:
            try:
                msg = await asyncio.to_thread(check, intent, deployed)
            except Exception as e:   # IntentError, DeployedError, DriftError, a file gone: say so, go on
                log.warning("drift: %s against %s: %s", intent, deployed, e)
                continue
            digest = hashlib.blake2b(msg.report_json.encode(), digest_size=16).hexdigest()
            if last.get(str(intent)) != digest:
                try:
                    await bus.publish(stage.js, subjects.DRIFT, msg, msg_id=f"drift-{digest}")
                    last[str(intent)] = digest
                    stage.drift[str(intent)] = {"drift": msg.drift, "differences": msg.differences}
                except Exception as e:
                    log.warning("drift: publishing failed (%s); retrying next round", e)
        try:
            await asyncio.wait_for(stage.stop_event.wait(), interval)
        except asyncio.TimeoutError:
            pass
