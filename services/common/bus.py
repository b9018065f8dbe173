"""NATS JetStream plumbing: connect, streams, publish, dead letters, durable consumers."""
from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import ssl
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

import nats
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, KeyValueConfig, StreamConfig
from nats.js.errors import BadRequestError, BucketNotFoundError, NotFoundError
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from weft.common import codec, durations, metrics, natsauth, subjects, tracing
from weft.common.natsserver import MAX_PAYLOAD
from weft.v1 import bus_pb2

log = logging.getLogger(__name__)

MAX_BATCH_BYTES = MAX_PAYLOAD - 64 * 1024  # an event batch with its headers fits one bus message


class _StartTlsEof(logging.Filter):
    """nats-py upgrades a connection to TLS with start_tls, after which asyncio warns at
    every close that the stream's eof_received() returned True: noise, not a problem."""
    def filter(self, record: logging.LogRecord) -> bool:
        return "eof_received() has no effect when using ssl" not in record.getMessage()


logging.getLogger("asyncio").addFilter(_StartTlsEof())


@dataclass(frozen=True)
class Login:
    """How a connection proves who it is (a token, or its user's nkey seed) and, with
    `ca`, checks the server's certificate; replies come to `inbox_prefix`."""
    token: str = ""
    seed_file: str = ""
    ca: str = ""
    inbox_prefix: str = "_INBOX"

    def options(self) -> dict:
        """nats.connect's keyword arguments for this login."""
        opts: dict = {"inbox_prefix": self.inbox_prefix}
        if self.token:
            opts["token"] = self.token
        if self.seed_file:
            opts["nkeys_seed"] = self.seed_file
        if self.ca:
            opts["tls"] = tls_context(self.ca)
        return opts


def tls_context(ca: str) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=ca)
    except (OSError, ssl.SSLError) as e:
        raise ValueError(f"NATS CA {ca}: {e}") from None


def login_as(user: str, token: str = "", seed_file: str = "", ca: str = "") -> Login:
    return Login(token, seed_file, ca, natsauth.inbox_prefix(user))


async def connect(url: str, name: str, login: Login | str = Login()) -> NATS:
    """A connection that reconnects forever: a NATS restart is an outage, not a crash.
    `login` may be a bare token."""
    if isinstance(login, str):
        login = Login(token=login)

    async def on_error(e: Exception) -> None:
        log.warning("nats: %s", e)

    async def on_disconnect() -> None:
        log.warning("nats: disconnected from %s", url)

    async def on_reconnect() -> None:
        log.info("nats: reconnected")

    return await nats.connect(
        url, name=name, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
        error_cb=on_error, disconnected_cb=on_disconnect, reconnected_cb=on_reconnect,
        allow_reconnect=True, connect_timeout=5, **login.options())


async def ensure_streams(js: JetStreamContext, streams: tuple[subjects.Stream, ...] = subjects.STREAMS) -> None:
    """Create what is missing of `streams`, update what differs (idempotent). A stream
    that is already as configured is only looked up: a service under its own NATS user
    may look up its streams, while creating or changing one is the operator's."""
    for s in streams:
        cfg = StreamConfig(name=s.name, subjects=list(s.subjects), max_age=retention_s(s),
                           max_bytes=s.max_bytes, duplicate_window=120.0)
        try:
            found = (await js.stream_info(s.name)).config
        except NotFoundError:
            try:
                await js.add_stream(cfg)
            except BadRequestError:   # another service created it meanwhile, configured otherwise
                await js.update_stream(cfg)
            continue
        if not same_stream(found, cfg):
            await js.update_stream(cfg)


async def ensure_buckets(js: JetStreamContext) -> None:
    """The key-value buckets services use, created by the operator: detect's leases, with
    the lease TTL of WEFT_DETECT_LEASE_TTL (seconds, default 10) as their max age."""
    try:
        await js.key_value(subjects.DETECT_LEASES)
    except BucketNotFoundError:
        ttl = float(os.environ.get("WEFT_DETECT_LEASE_TTL", "10") or 10)
        await js.create_key_value(KeyValueConfig(bucket=subjects.DETECT_LEASES, history=1, ttl=ttl))


def same_stream(found: StreamConfig, wanted: StreamConfig) -> bool:
    return (sorted(found.subjects or []) == sorted(wanted.subjects) and found.max_bytes == wanted.max_bytes
            and abs((found.max_age or 0) - wanted.max_age) < 1e-3
            and abs((found.duplicate_window or 0) - wanted.duplicate_window) < 1e-3)


def retention_s(stream: subjects.Stream) -> float:
    """The stream's max age; the events stream's (and with it every prompt, response
    and argument excerpt the sensors captured) is WEFT_EVENTS_RETENTION when set."""
    spec = os.environ.get("WEFT_EVENTS_RETENTION", "") if stream.name == subjects.EVENTS_STREAM else ""
    if not spec:
        return stream.max_age_s
    try:
        return durations.seconds(spec)
    except ValueError as e:
        raise ValueError(f"WEFT_EVENTS_RETENTION: {e}") from None


def headers_for(msg: Message, msg_id: str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    h = tracing.headers_with_context(extra)
    h[codec.H_TYPE] = codec.type_name(msg)
    if msg_id:
        h[codec.H_MSG_ID] = msg_id
    return h


async def publish(js: JetStreamContext, subject: str, msg: Message, msg_id: str | None = None,
                  headers: dict[str, str] | None = None, data: bytes | None = None, timeout: float = 10.0):
    """Publish one protobuf message (or its already serialized `data`) to JetStream."""
    payload = data if data is not None else msg.SerializeToString()
    return await js.publish(subject, payload, timeout=timeout, headers=headers_for(msg, msg_id, headers))


def now_ts() -> Timestamp:
    ts = Timestamp()
    ts.GetCurrentTime()
    return ts


async def dead_letter(js: JetStreamContext, reason: str, origin: str, payload: bytes,
                      subject: str = "", headers: dict[str, str] | None = None) -> None:
    """Put undecodable or refused input on weft.deadletter.v1 with its reason; never raises."""
    dl = bus_pb2.DeadLetter(reason=reason[:2000], origin=origin, subject=subject,
                            headers={k: v for k, v in (headers or {}).items() if k.lower() != "authorization"},
                            payload=payload[:MAX_PAYLOAD // 2], time=now_ts())
    digest = hashlib.blake2b(payload + reason.encode() + origin.encode() + subject.encode(), digest_size=16)
    metrics.DEADLETTERS.labels(origin=origin.split(" ")[0]).inc()
    log.warning("dead letter from %s: %s", origin, reason)
    try:
        await publish(js, subjects.DEADLETTER, dl, msg_id=digest.hexdigest())
    except Exception as e:  # the dead-letter path must not take the stage down
        log.error("could not publish dead letter (%s): %s", reason, e)


Handler = Callable[[Msg], Awaitable[None]]
FETCH_WAIT_S = 0.02   # a fetch waits this long for a full batch while messages flow
IDLE_WAIT_S = 0.5     # an idle consumer's wait for the next message (then it checks `stop`)


@dataclass
class Consumer:
    """A durable pull consumer with explicit ack. The handler raises
    codec.InvalidInput for input it can never accept (dead-lettered and acked);
    any other error is retried, and dead-lettered after `max_deliver` tries."""
    js: JetStreamContext
    service: str
    stream: str
    filter_subject: str
    handler: Handler
    batch: int = 100
    max_deliver: int = 5

    @property
    def durable(self) -> str:
        return natsauth.durable(self.service, self.stream)

    async def subscribe(self):
        cfg = ConsumerConfig(durable_name=self.durable, ack_policy=AckPolicy.EXPLICIT,
                             deliver_policy=DeliverPolicy.ALL, ack_wait=30, max_ack_pending=10000,
                             filter_subject=self.filter_subject, max_deliver=self.max_deliver + 1)
        return await self.js.pull_subscribe(self.filter_subject, durable=self.durable,
                                            stream=self.stream, config=cfg)

    async def run(self, stop: asyncio.Event) -> None:
        """Handle messages in order while the next fetch is already on its way (one fetch
        ahead), so the handler never waits a round trip; fetched messages are handled
        even when `stop` is set meanwhile (none waits out its ack deadline)."""
        psub = await self.subscribe()
        ahead: asyncio.Queue[list[Msg] | None] = asyncio.Queue(maxsize=1)
        fetching = asyncio.create_task(self._fetch_ahead(psub, ahead, stop))
        try:
            while (msgs := await ahead.get()) is not None:
                for m in msgs:
                    await self.handle(m)
        finally:
            fetching.cancel()
            await asyncio.gather(fetching, return_exceptions=True)

    async def _fetch_ahead(self, psub, ahead: asyncio.Queue, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    msgs = await self._fetch(psub)
                except asyncio.TimeoutError:  # nats-py raises both its own and asyncio's when idle
                    continue
                except (nats.errors.ConnectionClosedError, nats.errors.DrainTimeoutError):
                    break
                except Exception as e:  # a NATS restart: wait and fetch again
                    log.warning("%s: fetch failed: %s", self.durable, e)
                    await asyncio.sleep(0.5)
                    continue
                await ahead.put(msgs)
        finally:
            await ahead.put(None)

    async def _fetch(self, psub) -> list[Msg]:
        """Up to a batch of what is there (waiting at most FETCH_WAIT_S for a full one);
        when nothing is, the next message as soon as it comes (at most IDLE_WAIT_S).
        One fetch for a whole batch would hold an idle consumer's first message until the
        batch filled or the timeout passed: nats-py waits for the rest once one arrived."""
        try:
            return await psub.fetch(self.batch, timeout=FETCH_WAIT_S)
        except asyncio.TimeoutError:
            return await psub.fetch(1, timeout=IDLE_WAIT_S)

    async def handle(self, m: Msg) -> None:
        origin = f"{self.service} consumer={self.durable}"
        t0 = time.perf_counter()
        ctx = tracing.context_from(m.headers)
        with tracing.tracer(self.service).start_as_current_span(
                f"{self.service} consume", context=ctx,
                attributes={"messaging.destination": m.subject, "weft.stage": self.service}):
            try:
                await self.handler(m)
                outcome = "ok"
            except codec.InvalidInput as e:
                await dead_letter(self.js, str(e), origin, m.data, m.subject, m.headers)
                outcome = "deadletter"
            except Exception as e:
                delivered = m.metadata.num_delivered if m.metadata else 1
                log.exception("%s: handler failed (delivery %d)", self.durable, delivered)
                if delivered >= self.max_deliver:
                    await dead_letter(self.js, f"handler failed {delivered} times: {e}", origin,
                                      m.data, m.subject, m.headers)
                    outcome = "deadletter"
                else:
                    await m.nak(delay=1.0)
                    metrics.MESSAGES.labels(service=self.service, subject=self.stream, outcome="retry").inc()
                    return
        await m.ack()
        metrics.MESSAGES.labels(service=self.service, subject=self.stream, outcome=outcome).inc()
        metrics.HANDLE_SECONDS.labels(service=self.service).observe(time.perf_counter() - t0)
