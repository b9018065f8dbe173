"""Running an exporter: a durable consumer on weft.alerts.v1 and/or weft.stories.v1 per
exporter and target; each record delivered (or the message is retried, then
dead-lettered after max_deliver tries, like any stage's input)."""
from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import aiohttp

from weft.common import bus, codec, subjects
from weft.detect.exporters import ocsf_of, syslog
from weft.v1 import alert_pb2

WHAT = {"alerts": (subjects.ALERTS, "WEFT_ALERTS", alert_pb2.Alert),
        "stories": (subjects.STORIES, "WEFT_STORIES", alert_pb2.Story)}


def deliverer(kind: str, target: str, *, token: str = "", tcp: bool = False):
    """An async callable taking one OCSF dict, for `kind` webhook | syslog | jsonl."""
    if kind == "jsonl":
        path = Path(target)

        async def to_file(ocsf: dict) -> None:
            with path.open("a") as f:
                f.write(json.dumps(ocsf, sort_keys=True, separators=(",", ":")) + "\n")
        return to_file
    if kind == "syslog":
        sender = syslog.Sender(target, tcp=tcp)
        return lambda ocsf: asyncio.to_thread(sender.send, syslog.line(ocsf))
    if kind == "webhook":
        headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}

        async def post(ocsf: dict) -> None:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as s:
                async with s.post(target, data=json.dumps(ocsf), headers=headers) as r:
                    if r.status >= 300:
                        raise ConnectionError(f"webhook {target} answered HTTP {r.status}")
        return post
    raise ValueError(f"exporter {kind!r}: one of webhook, syslog, jsonl")


def consumers(js, kind: str, target: str, what: list[str], deliver) -> list[bus.Consumer]:
    name = f"export-{kind}-{hashlib.blake2b(target.encode(), digest_size=6).hexdigest()}"

    def handler(cls):
        async def handle(m) -> None:
            await deliver(ocsf_of(codec.decode(cls, m.data)))
        return handle
    return [bus.Consumer(js, name, WHAT[w][1], WHAT[w][0], handler(WHAT[w][2]), batch=50) for w in what]
