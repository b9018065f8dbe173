"""Exporters: alerts and stories out of weft, in OCSF, to where a SOC already looks —
a webhook (HTTP POST), syslog (RFC 5424) or a JSON Lines file. Each is a bus
subscriber with its own durable consumer, so it resumes where it stopped."""
from __future__ import annotations

import json

from weft.detect.core import story_render
from weft.v1 import alert_pb2


def ocsf_of(message) -> dict:
    """The OCSF record for a weft.v1.Alert (Detection Finding, 2004) or Story (Incident Finding, 2005)."""
    if isinstance(message, alert_pb2.Alert):
        return json.loads(message.ocsf_json)
    return story_render.ocsf_incident(story_render.from_json(json.loads(message.story_json)))
