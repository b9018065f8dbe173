"""detect's provider-alert input: a raw record from discovery's ingest becomes OCSF
Detection Findings (the adapters' core), published on weft.alerts.v1 and stored.
A record that is not an alert (a posture assessment) is acknowledged; one that
cannot be read is dead-lettered with the adapter's precise reason."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from weft.detect.core.normalise import normalise
from weft.detect.core.signals import signal_facts
from weft.v1 import alert_pb2, bus_pb2


@dataclass
class Converted:
    alerts: list[alert_pb2.Alert] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def convert(record: bus_pb2.RawRecord) -> Converted:
    """Pure: one raw record in, its alerts and its errors out."""
    findings, errors = normalise(record.data, source_name=record.source or record.format, adapter=record.format)
    out = Converted(errors=[f"{e.location}: {e.message}" for e in errors if not e.skipped])
    for finding in findings:
        facts = signal_facts(finding)
        alert = alert_pb2.Alert(id=facts.signal_id, source=facts.source, severity_id=facts.severity_id,
                                ocsf_json=json.dumps(finding, sort_keys=True, separators=(",", ":")))
        alert.time.seconds, ms = divmod(facts.time_ms, 1000)
        alert.time.nanos = ms * 1_000_000
        out.alerts.append(alert)
    return out
