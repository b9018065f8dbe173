"""The sensor's side of weft.v1.SensorGateway/Connect.

Every batch and reject gets a sequence number and stays in a bounded buffer
until the gateway acknowledges it (after JetStream stored it). When the stream
breaks, the uplink reconnects with backoff and re-sends everything still held,
oldest first; the gateway's de-duplication by batch id stores each batch once.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
from collections import OrderedDict

import grpc
from opentelemetry.context import Context

from weft.common import codec, tracing
from weft.common.bus import MAX_BATCH_BYTES
from weft.discovery.protocol import PROTOCOL_VERSION
from weft.v1 import event_pb2, sensor_pb2, sensor_pb2_grpc

log = logging.getLogger(__name__)


# Protocol version and identity: re-dialling would only be refused again.
REFUSALS = (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.PERMISSION_DENIED)


class Refused(RuntimeError):
    """The gateway will not serve this sensor (protocol version, identity): fatal."""


class Uplink:
    def __init__(self, target: str, hello: sensor_pb2.Hello, *, max_buffer: int = 2000,
                 block_when_full: bool = True, credentials: grpc.ChannelCredentials | None = None,
                 server_name: str = "", on_program=None):
        self.target, self.hello, self.credentials = target, hello, credentials
        self.server_name = server_name   # checked in the gateway's certificate instead of the target's host
        # on_program(EnforcementProgram) -> EnforcementAck | None (or an awaitable of it);
        # programs are handled one after another, in the order they came, off the receive loop.
        self.on_program, self._program_task, self._outbox = on_program, None, []
        self.max_buffer, self.block_when_full = max_buffer, block_when_full
        self.unacked: OrderedDict[int, sensor_pb2.SensorMessage] = OrderedDict()
        self._sizes: dict[int, int] = {}  # seq -> events in it, to count what an overflow drops
        self.seq = 0
        self.stats = {"events_total": 0, "batches": 0, "rejects": 0, "overflow_batches": 0,
                      "overflow_events": 0, "reconnects": 0, "acked": 0, "deadlettered": 0}
        self.connected = asyncio.Event()
        self._changed = asyncio.Condition()
        self._closed = False
        self._status: sensor_pb2.SensorStatus | None = None
        self.tracer = tracing.tracer("weft-sensor")

    # --- what the source calls -----------------------------------------------------
    async def send_events(self, events: list[event_pb2.RuntimeEvent]) -> None:
        bid, data = codec.encode_batch(events, self.hello.sensor_id, self.hello.node)
        if len(data) > MAX_BATCH_BYTES:  # halve until it fits the bus; one event too large is a reject
            if len(events) == 1:
                await self.send_reject(data[:64 * 1024], f"event {events[0].event_id} of {len(data)} bytes "
                                       f"exceeds the bus limit of {MAX_BATCH_BYTES}", "sensor")
                return
            half = len(events) // 2
            await self.send_events(events[:half])
            await self.send_events(events[half:])
            return
        # Each batch is the root of its own trace (not a child of whatever runs the sensor).
        with self.tracer.start_as_current_span("sensor batch", context=Context()) as span:
            span.set_attribute("weft.cluster", self.hello.node.cluster)
            span.set_attribute("weft.node", self.hello.node.name)
            span.set_attribute("weft.batch.size", len(events))
            span.set_attribute("weft.batch.id", bid)
            up = sensor_pb2.BatchUpload(batch=data,
                                        traceparent=tracing.headers_with_context().get("traceparent", ""))
        self.stats["events_total"] += len(events)
        self.stats["batches"] += 1
        await self._hold(lambda seq: sensor_pb2.SensorMessage(batch=_with_seq(up, seq)), len(events))

    async def send_reject(self, data: bytes, reason: str, origin: str) -> None:
        self.stats["rejects"] += 1
        await self._hold(lambda seq: sensor_pb2.SensorMessage(
            reject=sensor_pb2.Reject(data=data, reason=reason, origin=origin, seq=seq)), 0)

    def set_status(self, status: sensor_pb2.SensorStatus) -> None:
        self._status = status

    async def flush(self, timeout: float | None = None) -> bool:
        """Wait until the gateway has acknowledged everything sent so far."""
        async def drained():
            async with self._changed:
                await self._changed.wait_for(lambda: not self.unacked)
        try:
            await asyncio.wait_for(drained(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    def close(self) -> None:
        self._closed = True

    def _newest(self) -> int:
        return _newest_of(self.unacked)

    # --- the buffer ---------------------------------------------------------------------
    async def _hold(self, build, n_events: int) -> None:
        async with self._changed:
            if len(self.unacked) >= self.max_buffer:
                if self.block_when_full:
                    await self._changed.wait_for(lambda: len(self.unacked) < self.max_buffer)
                else:  # a live sensor cannot stop the kernel: drop the oldest, and count it
                    seq, _ = self.unacked.popitem(last=False)
                    self.stats["overflow_batches"] += 1
                    self.stats["overflow_events"] += self._sizes.pop(seq)
            self.seq += 1
            self.unacked[self.seq] = build(self.seq)
            self._sizes[self.seq] = n_events
            self._changed.notify_all()

    async def _acked(self, ack: sensor_pb2.BatchAck) -> None:
        async with self._changed:
            self._sizes.pop(ack.seq, None)
            if self.unacked.pop(ack.seq, None) is not None:
                self.stats["acked"] += 1
                if not ack.stored:
                    self.stats["deadlettered"] += 1
            self._changed.notify_all()

    # --- the connection -------------------------------------------------------------------
    async def run(self) -> None:
        """Stay connected until close(); raises Refused if the gateway says no."""
        backoff = 0.2
        while not self._closed:
            started = time.monotonic()
            try:
                await self._session()
            except Refused:
                raise
            except grpc.aio.AioRpcError as e:
                if e.code() in REFUSALS:
                    raise Refused(e.details()) from None
                log.warning("gateway %s: %s", self.target, e.details() or e.code().name)
            finally:
                self.connected.clear()
            if self._closed:
                break
            if time.monotonic() - started > 5:
                backoff = 0.2
            self.stats["reconnects"] += 1
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, 5.0)

    async def _session(self) -> None:
        opts = [("grpc.max_send_message_length", 16 << 20), ("grpc.max_receive_message_length", 16 << 20)]
        if self.server_name:
            opts.append(("grpc.ssl_target_name_override", self.server_name))
        channel = (grpc.aio.secure_channel(self.target, self.credentials, options=opts) if self.credentials
                   else grpc.aio.insecure_channel(self.target, options=opts))
        async with channel:
            call = sensor_pb2_grpc.SensorGatewayStub(channel).Connect(self._requests())
            async for msg in call:
                kind = msg.WhichOneof("msg")
                if kind == "welcome":
                    self.connected.set()
                    log.info("connected to gateway %s (protocol %d)", self.target, msg.welcome.protocol_version)
                elif kind == "ack":
                    await self._acked(msg.ack)
                elif kind == "program":
                    log.info("enforcement program %s received", msg.program.program_id)
                    if self.on_program is not None:
                        self._program_task = asyncio.create_task(
                            self._handle_program(msg.program, self._program_task))

    async def _handle_program(self, program: sensor_pb2.EnforcementProgram, previous) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        try:
            ack = self.on_program(program)
            if inspect.isawaitable(ack):
                ack = await ack
        except Exception:
            log.exception("enforcement program %s failed", program.program_id)
            return
        if ack is not None:  # sent on this stream or, if it breaks first, on the next one
            async with self._changed:
                self._outbox.append(sensor_pb2.SensorMessage(enforcement_ack=ack))
                self._changed.notify_all()

    async def _requests(self):
        hello = self.hello
        hello.protocol_version = hello.protocol_version or PROTOCOL_VERSION
        yield sensor_pb2.SensorMessage(hello=hello)
        # Batches wait for the welcome: written while a gateway refuses the hello,
        # one fails locally and the call ends INTERNAL, hiding the refusal.
        await self.connected.wait()
        sent = 0  # a new stream re-sends everything still unacknowledged
        last_status = 0.0
        while not self._closed:
            async with self._changed:
                try:  # wake at least every 2 s to send status
                    await asyncio.wait_for(self._changed.wait_for(
                        lambda: self._closed or self._newest() > sent or self._outbox), 2.0)
                except asyncio.TimeoutError:
                    pass
                todo = [(s, m) for s, m in self.unacked.items() if s > sent]
                outbox, self._outbox = self._outbox, []
            for m in outbox:
                yield m
            for s, m in todo:
                yield m
                sent = s
            if self._status is not None and time.monotonic() - last_status > 2:
                yield sensor_pb2.SensorMessage(status=self._status)
                last_status = time.monotonic()


def _newest_of(unacked: OrderedDict) -> int:
    return next(reversed(unacked)) if unacked else 0


def _with_seq(up: sensor_pb2.BatchUpload, seq: int) -> sensor_pb2.BatchUpload:
    up.seq = seq
    return up
