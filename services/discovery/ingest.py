"""discovery's ingest endpoint: files from `weft ingest` and provider webhooks in;
each record published raw on the subject of its kind (runtime events as EventBatches),
each problem dead-lettered with its reason. What a record is: core/recognise.py.

Files may be anything recognise() reads, up to max_bytes; a webhook is one JSON document
(or SNS's text/plain JSON) up to max_webhook_bytes, refused whole (400/413/415) when it
is not, since its sender is there to read the answer."""
from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Awaitable, Callable

from aiohttp import web
from nats.js import JetStreamContext

from weft.common import bus, http, jsonbody, tracing
from weft.discovery.core.event_records import event_batches
from weft.discovery.core.recognise import (DEFAULT_MAX_BYTES, InputTooLarge, Problem, Recognised,
                                           Record, UnknownFormat, recognise)
from weft.v1 import bus_pb2

log = logging.getLogger(__name__)

WEBHOOK_PROVIDERS = ("aws", "azure", "gcp")
WEBHOOK_TYPES = ("application/json", "text/plain")   # SNS posts its JSON as text/plain
DEFAULT_MAX_WEBHOOK_BYTES = 10 * 1024 * 1024
PUBLISH_AT_ONCE = 200
MAX_RECORD_BYTES = bus.MAX_PAYLOAD - 64 * 1024   # room for the RawRecord around the data and headers


def add_ingest_routes(app: web.Application, js: JetStreamContext, *, default_cluster: str = "default",
                      max_bytes: int = DEFAULT_MAX_BYTES, token: str = "",
                      max_webhook_bytes: int = DEFAULT_MAX_WEBHOOK_BYTES) -> None:
    """POST /v1/ingest (?format= forces a format, ?source= names the file) and
    POST /v1/webhooks/{aws,azure,gcp}; all answer {source, accepted, problems, published}.
    `token` (WEFT_INGEST_TOKEN) admits callers besides the API token."""
    ingest = Ingest(js, default_cluster, max_bytes, token, max_webhook_bytes)
    paths = ["/v1/ingest", *(f"/v1/webhooks/{p}" for p in WEBHOOK_PROVIDERS)]
    app.router.add_post(paths[0], ingest.from_file)
    for provider, path in zip(WEBHOOK_PROVIDERS, paths[1:]):
        app.router.add_post(path, ingest.from_webhook(provider))
    if token:
        http.self_authenticating(app, paths)


class PublishFailed(RuntimeError):
    """The bus did not take some records; the sender should retry (ids make that safe)."""


@dataclass
class Ingest:
    js: JetStreamContext
    default_cluster: str
    max_bytes: int
    token: str
    max_webhook_bytes: int = DEFAULT_MAX_WEBHOOK_BYTES

    async def from_file(self, request: web.Request) -> web.Response:
        return await self.handle(request, request.query.get("source") or "request", self.file_body)

    def from_webhook(self, provider: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            # Pub/Sub push cannot set headers: webhooks may carry the token as ?token=.
            return await self.handle(request, f"webhook/{provider}", self.webhook_body, token_in_query=True)
        return handle

    async def file_body(self, request: web.Request) -> bytes:
        return await read_body(request, self.max_bytes)

    async def webhook_body(self, request: web.Request) -> bytes:
        http.require_type(request, WEBHOOK_TYPES)
        body = await http.read_limited(request, self.max_webhook_bytes)
        try:
            await asyncio.to_thread(jsonbody.parse, body)
        except jsonbody.BadJson as e:
            raise http.Refused(400, str(e)) from None
        return body

    async def handle(self, request: web.Request, source: str, read: Callable[[web.Request], Awaitable[bytes]],
                     token_in_query: bool = False) -> web.Response:
        if not self.authorised(request, token_in_query):
            return _error(401, "missing or wrong bearer token (Authorization: Bearer <WEFT_API_TOKEN> "
                          "or <WEFT_INGEST_TOKEN>)")
        with tracing.tracer("weft-discovery").start_as_current_span(
                "discovery ingest", attributes={"weft.ingest.source": source}):
            try:
                body = await read(request)
                result = await asyncio.to_thread(
                    recognise, body, source, forced=request.query.get("format") or None,
                    default_cluster=self.default_cluster, max_bytes=self.max_bytes)
                accepted, problems, published = await self.publish(result, source)
            except http.Refused as e:
                log.info("ingest %s: refused (%d): %s", source, e.status, e.reason)
                return _error(e.status, e.reason)
            except InputTooLarge as e:
                return _error(413, str(e))
            except UnknownFormat as e:
                return _error(400, str(e))
            except PublishFailed as e:
                log.error("ingest %s: %s", source, e)
                return _error(503, str(e))
        log.info("ingest %s: published %d, %d problems", source, published, len(problems))
        return web.json_response({"source": source, "accepted": dict(accepted), "published": published,
                                  "problems": [{"location": p.location, "reason": p.reason} for p in problems]})

    def authorised(self, request: web.Request, token_in_query: bool) -> bool:
        """The API token (checked by http's guard), else the ingest token; without an
        ingest token the guard alone decided."""
        if not self.token or request.get(http.AUTHORISED):
            return True
        given = http.bearer(request)
        if not given and token_in_query:
            given = request.query.get("token", "")
        return http.token_matches(given, self.token)

    async def publish(self, result: Recognised, source: str) -> tuple[Counter, list[Problem], int]:
        problems = list(result.problems)
        raws: list[Record] = []
        for r in (r for r in result.records if r.kind != "event"):
            if len(r.data) > MAX_RECORD_BYTES:
                problems.append(Problem(r.location, f"a record of {len(r.data)} bytes is over the bus's "
                                        f"limit of {MAX_RECORD_BYTES} bytes", r.data))
            else:
                raws.append(r)
        events = [r for r in result.records if r.kind == "event"]
        batches, bad_events = event_batches(events, self.default_cluster)
        problems += bad_events
        received = bus.now_ts()
        await _bounded([lambda r=r: self._publish_raw(r, source, received) for r in raws]
                       + [lambda b=b: bus.publish(self.js, b.subject, b.batch, msg_id=b.batch.batch_id)
                          for b in batches])
        origin = f"discovery ingest {source}"
        await _bounded([lambda p=p: bus.dead_letter(self.js, f"{p.location}: {p.reason}", origin, p.data)
                        for p in problems])
        bad = {p.location for p in bad_events}
        accepted = Counter(r.format for r in raws) + Counter(r.format for r in events if r.location not in bad)
        return accepted, problems, sum(accepted.values())

    async def _publish_raw(self, r: Record, source: str, received) -> None:
        msg = bus_pb2.RawRecord(format=r.format, source=r.location, content_type=r.content_type,
                                data=r.data, received=received)
        await bus.publish(self.js, r.subject, msg, msg_id=record_id(r))


def record_id(r: Record) -> str:
    """Content-derived, so a record sent twice (a retried webhook) is stored once."""
    return hashlib.blake2b(r.format.encode() + b"\0" + r.data, digest_size=16).hexdigest()


async def _bounded(jobs: list[Callable[[], Awaitable[object]]]) -> None:
    for i in range(0, len(jobs), PUBLISH_AT_ONCE):
        results = await asyncio.gather(*(job() for job in jobs[i:i + PUBLISH_AT_ONCE]), return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise PublishFailed(f"the bus refused {len(failed)} of {len(results)} messages "
                                f"({failed[0]!r}); send again: what was published already is stored once") from failed[0]


async def read_body(request: web.Request, max_bytes: int) -> bytes:
    """The body, up to max_bytes (the app's own client_max_size is for small API bodies)."""
    return await http.read_capped(request, max_bytes, InputTooLarge)


def _error(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)
