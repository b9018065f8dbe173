"""The aiohttp endpoints every service serves (/healthz, /readyz, /metrics, /v1/status)
and the guard in front of everything else: a bearer token, bounded bodies, and one-line
reasons for what is refused.

WEFT_API_TOKEN is required on every route but the probes and /metrics. Without one, a
service answers loopback callers only. A route may authenticate itself as well
(`self_authenticating`: the ingest token of webhooks); a valid API token is then marked
on the request (`AUTHORISED`) for its handler.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import ssl
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable, Iterable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from weft.common import jsonbody, metrics

log = logging.getLogger(__name__)

StatusFn = Callable[[], dict]
ReadyFn = Callable[[], bool]

MAX_BODY = 16 * 1024 * 1024
TOKEN_ENV = "WEFT_API_TOKEN"
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# Request key: the API token was presented (RequestKey is newer than aiohttp 3.12).
AUTHORISED = web.RequestKey("weft.authorised", bool) if hasattr(web, "RequestKey") else "weft.authorised"
SELF_AUTHENTICATING = web.AppKey("weft.self_authenticating", set)
JSON_TYPES = ("application/json",)


class Refused(Exception):
    """A request refused before or inside its handler: status and a one-line reason."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def make_app(service: str, ready: ReadyFn, status: StatusFn, token: str | None = None) -> web.Application:
    token = os.environ.get(TOKEN_ENV, "") if token is None else token
    if not token:
        log.warning("%s: no %s set: its HTTP API answers loopback callers only, without a token",
                    service, TOKEN_ENV)
    app = web.Application(client_max_size=MAX_BODY, middlewares=[guard(service, token)])
    app[SELF_AUTHENTICATING] = set()

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"service": service, "ok": True})

    async def readyz(_: web.Request) -> web.Response:
        ok = ready()
        return web.json_response({"service": service, "ready": ok}, status=200 if ok else 503)

    async def metrics_(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def status_(_: web.Request) -> web.Response:
        return web.json_response({"service": service, "ready": ready(), **status()})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_)
    app.router.add_get("/v1/status", status_)
    return app


def self_authenticating(app: web.Application, paths: Iterable[str]) -> None:
    """Routes whose handler checks a credential of its own when no API token is presented."""
    if SELF_AUTHENTICATING in app:
        app[SELF_AUTHENTICATING].update(paths)


def guard(service: str, token: str):
    @web.middleware
    async def middleware(request: web.Request, handler):
        try:
            if request.path not in OPEN_PATHS:
                _authorise(request, token)
            return await handler(request)
        except Refused as e:
            metrics.HTTP_REFUSED.labels(service=service, status=str(e.status)).inc()
            headers = {"WWW-Authenticate": "Bearer"} if e.status == 401 else None
            return web.json_response({"error": e.reason}, status=e.status, headers=headers)
        except web.HTTPRequestEntityTooLarge as e:   # aiohttp's own limit on request.read()/json()
            metrics.HTTP_REFUSED.labels(service=service, status="413").inc()
            return web.json_response({"error": e.text}, status=413)
        except RecursionError:   # a parser that recursed (YAML): the input, not the service, is at fault
            metrics.HTTP_REFUSED.labels(service=service, status="400").inc()
            return web.json_response({"error": "the input is nested too deeply"}, status=400)
    return middleware


def _authorise(request: web.Request, token: str) -> None:
    if token and token_matches(bearer(request), token):
        request[AUTHORISED] = True
    elif request.path in request.app.get(SELF_AUTHENTICATING, ()):
        return   # its handler decides
    elif token:
        raise Refused(401, f"missing or wrong bearer token (Authorization: Bearer <{TOKEN_ENV}>)")
    elif not is_loopback(request.remote):
        raise Refused(401, f"this service has no {TOKEN_ENV} and answers loopback callers only")


def bearer(request: web.Request) -> str:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" else ""


def token_matches(given: str, token: str) -> bool:
    """Constant time in the token's content."""
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


def is_loopback(remote: str | None) -> bool:
    try:
        address = ipaddress.ip_address((remote or "").split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def require_type(request: web.Request, types: Iterable[str]) -> None:
    """415 unless the body's Content-Type is one of `types` (or any */*+json when JSON is)."""
    wanted = tuple(types)
    got = request.content_type
    if got in wanted or ("application/json" in wanted and got.endswith("+json")):
        return
    raise Refused(415, f"Content-Type {got!r} is not accepted here; send {' or '.join(wanted)}")


async def read_limited(request: web.Request, max_bytes: int) -> bytes:
    """The body, refused (413) as soon as it is known to exceed max_bytes."""
    return await read_capped(request, max_bytes, lambda why: Refused(413, why))


async def read_capped(message, max_bytes: int, too_large: Callable[[str], Exception]) -> bytes:
    """The body of a request aiohttp serves or of a response it received, raising
    too_large(why) as soon as it is known to exceed max_bytes: from its Content-Length
    when it has one, else as the bytes come."""
    if message.content_length is not None and message.content_length > max_bytes:
        raise too_large(f"the body is {message.content_length} bytes, over the limit of {max_bytes} bytes")
    body = bytearray()
    async for chunk in message.content.iter_chunked(1 << 16):
        body += chunk
        if len(body) > max_bytes:
            raise too_large(f"the body is over the limit of {max_bytes} bytes")
    return bytes(body)


async def json_body(request: web.Request, max_bytes: int, default: object = None) -> object:
    """The request's JSON body: 415 for another type, 413 when too large, 400 when it is
    malformed or nested too deeply. No body at all gives `default` when there is one."""
    if not request.body_exists and default is not None:
        return default
    require_type(request, JSON_TYPES)
    data = await read_limited(request, max_bytes)
    try:
        return jsonbody.parse(data)
    except jsonbody.BadJson as e:
        raise Refused(400, str(e)) from None


@asynccontextmanager
async def serve(app: web.Application, host: str, port: int,
                ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """Run `app` (over TLS with `ssl_context`) until the context exits; yields the port
    actually bound."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
    await site.start()
    try:
        yield site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    finally:
        await runner.cleanup()
