"""The CLI's JetStream reading: connect to the running weft, and read a stream
from a start (time or sequence) to its end as it was when reading began."""
from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import AsyncIterator

import nats
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from weft.cli.endpoint import Endpoint, nats_login
from weft.cli.main import CliError


@contextlib.asynccontextmanager
async def connected(ep: Endpoint) -> AsyncIterator[JetStreamContext]:
    nc = await _connect(ep)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


async def _connect(ep: Endpoint, timeout_s: float = 5.0):
    # nats.connect retries an unreachable server forever, even without reconnects;
    # a command should fail at the first refusal instead.
    failed = asyncio.Event()
    errors: list[Exception] = []

    async def on_error(e: Exception) -> None:
        errors.append(e)
        failed.set()
    try:
        login = nats_login(ep)
    except ValueError as e:
        raise CliError(str(e)) from None
    connecting = asyncio.ensure_future(nats.connect(
        ep.nats_url, name="weft-cli", connect_timeout=3, allow_reconnect=False, error_cb=on_error,
        **login.options()))
    failure = asyncio.ensure_future(failed.wait())
    await asyncio.wait({connecting, failure}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    failure.cancel()
    if connecting.done() and connecting.exception() is None:
        return connecting.result()
    connecting.cancel()
    why = errors[0] if errors else (connecting.exception() if connecting.done() else "timed out")
    raise CliError(f"cannot reach NATS at {ep.nats_url}: {why}")


async def stream_state(js: JetStreamContext, stream: str):
    try:
        return (await js.stream_info(stream)).state
    except NotFoundError:
        raise CliError(f"stream {stream} does not exist: has a weft stage run against this NATS?") from None


async def read(js: JetStreamContext, stream: str, subject: str, since: datetime | None = None,
               start_seq: int | None = None, until: datetime | None = None) -> AsyncIterator[Msg]:
    """Messages of `subject` in `stream`, oldest first, with an ordered consumer;
    stops at the stream's last message as of the call (or at `until`, by store time)."""
    state = await stream_state(js, stream)
    if state.messages == 0:
        return
    if since is not None:
        cfg = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=since)
    elif start_seq is not None:
        cfg = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start_seq)
    else:
        cfg = ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    sub = await js.subscribe(subject, stream=stream, ordered_consumer=True, config=cfg)
    try:
        info = await sub.consumer_info()
        if info.num_pending == 0 and info.delivered.stream_seq == 0:
            return  # nothing at or after the start
        while True:
            try:
                m = await sub.next_msg(timeout=1.0)
            except nats.errors.TimeoutError:
                if (await sub.consumer_info()).num_pending == 0:
                    return
                continue
            md = m.metadata
            if md.sequence.stream > state.last_seq or (until is not None and md.timestamp > until):
                return
            yield m
            if md.sequence.stream >= state.last_seq or md.num_pending == 0:
                return
    finally:
        with contextlib.suppress(nats.errors.Error):  # the connection may be gone already
            await sub.unsubscribe()



@contextlib.asynccontextmanager
async def following(js: JetStreamContext, stream: str, subject: str) -> AsyncIterator[AsyncIterator[Msg]]:
    """Messages of `subject` published once the context is entered, until the caller stops."""
    await stream_state(js, stream)
    sub = await js.subscribe(subject, stream=stream, ordered_consumer=True,
                             config=ConsumerConfig(deliver_policy=DeliverPolicy.NEW))

    async def messages() -> AsyncIterator[Msg]:
        while True:
            try:
                yield await sub.next_msg(timeout=1.0)
            except nats.errors.TimeoutError:
                continue
    try:
        yield messages()
    finally:
        with contextlib.suppress(nats.errors.Error):  # the connection may be gone already
            await sub.unsubscribe()
