"""Exporters on a real nats-server: an alert and a story published on the bus reach a
JSON Lines file, a webhook and a syslog listener as OCSF (2004 and 2005)."""
from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

from aiohttp import web

from stagekit import wait_for
from weft.common import bus, http, subjects
from weft.detect.exporters import syslog
from weft.detect.exporters.exporting import consumers, deliverer
from weft.v1 import alert_pb2

STORY = Path(__file__).resolve().parents[2] / "data" / "reference-attack"


def alert() -> alert_pb2.Alert:
    ocsf = {"class_uid": 2004, "severity_id": 4, "time": 1780000000000, "finding_info": {"uid": "gd-1", "title": "x"}}
    return alert_pb2.Alert(id="gd-1", source="GUARDDUTY", severity_id=4, ocsf_json=json.dumps(ocsf))


def story() -> alert_pb2.Story:
    from reference_attack import reference   # the correlation core's reference attack
    from weft.detect.core import story_render
    from weft.detect.core.correlate import CorrelationConfig, Correlator
    c = Correlator([], CorrelationConfig())
    corpus = reference()
    c.add_events(corpus.attack)
    for f in corpus.providers:
        c.add_alert(f)
    s = c.stories()[0]
    return alert_pb2.Story(id=s.id, severity=s.severity, title=s.title, story_json=json.dumps(story_render.to_json(s)))


async def run_exporter(js, kind, target, stop, **kw):
    deliver = deliverer(kind, target, **kw)
    return asyncio.gather(*(c.run(stop) for c in consumers(js, kind, target, ["alerts", "stories"], deliver)))


async def test_alerts_and_stories_reach_every_exporter_as_ocsf(nats_client, connect_as, tmp_path):
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "detect"))
    js = nats_client.jetstream()    # the operator's, as `weft export` runs
    await bus.ensure_streams(js)
    detect = (await connect_as("detect")).jetstream()
    await bus.publish(detect, subjects.ALERTS, alert())
    await bus.publish(detect, subjects.STORIES, story())

    received = []
    app = web.Application()

    async def hook(request):
        assert request.headers["Authorization"] == "Bearer t0ken"
        received.append(await request.json())
        return web.json_response({})
    app.router.add_post("/hook", hook)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    out = tmp_path / "ocsf.jsonl"
    stop = asyncio.Event()
    async with http.serve(app, "127.0.0.1", 0) as port:
        tasks = [await run_exporter(js, "jsonl", str(out), stop),
                 await run_exporter(js, "webhook", f"http://127.0.0.1:{port}/hook", stop, token="t0ken"),
                 await run_exporter(js, "syslog", f"127.0.0.1:{udp.getsockname()[1]}", stop)]
        lines = []

        def two_everywhere():
            try:
                while True:
                    lines.append(udp.recv(65535))
            except BlockingIOError:
                pass
            written = out.read_text().splitlines() if out.exists() else []
            return len(written) == 2 and len(received) == 2 and len(lines) == 2
        await wait_for(two_everywhere, timeout=20, what="two records at each exporter")
        stop.set()
        await asyncio.gather(*tasks)
    udp.close()
    classes = sorted(json.loads(line)["class_uid"] for line in out.read_text().splitlines())
    assert classes == [2004, 2005] and sorted(r["class_uid"] for r in received) == [2004, 2005]
    assert all(b" weft - ocsf-" in line and line.startswith(b"<") and b">1 " in line for line in lines)
    assert syslog.line({"severity_id": 5, "class_uid": 2004}).startswith(b"<106>1 ")   # security facility, critical
