"""weft.v1.SensorGateway/Connect: one bidirectional stream per sensor.

Uplink batches are validated, published to JetStream (Nats-Msg-Id = batch id,
so a re-sent batch is stored once) and acknowledged only after JetStream's ack;
the sensor forgets a batch only then. Rejects and bad batches go to the
dead-letter subject and are acknowledged too: nothing is silently dropped.

With mutual TLS a sensor is who its certificate says (peer.py): a hello, batch or
event naming another cluster or node ends the stream with PERMISSION_DENIED.
"""
from __future__ import annotations

import asyncio
import logging

import grpc
from nats.js import JetStreamContext

from weft import __version__
from weft.common import bus, codec, metrics, subjects, tracing
from weft.discovery import peer, protocol
from weft.discovery.core.batches import check_batch, cluster_of
from weft.discovery.core.identity import batch_refusal, settle_hello
from weft.discovery.recent import RecentBatches
from weft.discovery.sessions import Registry, Session
from weft.v1 import sensor_pb2, sensor_pb2_grpc

log = logging.getLogger(__name__)
MAX_IN_FLIGHT = 64  # batches publishing to JetStream at once, per sensor
PUBLISH_ATTEMPTS = 5


class IdentityRefused(Exception):
    """A batch names another sensor than the certificate: the stream ends."""


class Gateway(sensor_pb2_grpc.SensorGatewayServicer):
    def __init__(self, js: JetStreamContext, registry: Registry, *, require_identity: bool = False,
                 recent: RecentBatches | None = None):
        self.js = js
        self.registry = registry
        self.recent = recent          # what was published, parsed, for this process's consumer
        self.require_identity = require_identity   # mutual TLS: identity from the certificate
        self.tracer = tracing.tracer("weft-discovery")

    async def Connect(self, request_iterator, context: grpc.aio.ServicerContext):
        session = await self._hello(request_iterator, context)
        out: asyncio.Queue = asyncio.Queue()
        self.registry.add(session)
        for program in self.registry.programs_for(session.node.cluster):   # policies of its cluster in force
            session.downlink.put_nowait(program)
        metrics.SENSORS.set(len(self.registry))
        log.info("sensor %s connected (cluster %s, node %s)", session.sensor_id, session.node.cluster, session.node.name)
        reader = asyncio.create_task(self._read(request_iterator, session, out))
        down = asyncio.create_task(self._forward_downlink(session, out))
        try:
            yield sensor_pb2.GatewayMessage(welcome=sensor_pb2.Welcome(
                protocol_version=protocol.PROTOCOL_VERSION, gateway_version=__version__))
            while True:
                item = await out.get()
                if item is None:
                    break
                if isinstance(item, IdentityRefused):   # aborts: the stream ends here
                    await self._refuse(context, "batch", session.sensor_id, str(item))
                yield item
        finally:
            reader.cancel()
            down.cancel()
            self.registry.remove(session)
            metrics.SENSORS.set(len(self.registry))
            log.info("sensor %s disconnected", session.sensor_id)

    async def _hello(self, request_iterator, context) -> Session:
        try:
            first = await asyncio.wait_for(anext(request_iterator), protocol.HELLO_TIMEOUT_S)
        except (StopAsyncIteration, asyncio.TimeoutError):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "expected a hello first")
        if first.WhichOneof("msg") != "hello":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message of a stream must be a hello")
        hello = first.hello
        proven = None
        if self.require_identity:   # who it is comes before what it speaks
            proven = peer.identity_of(context)
            if proven is None:
                await self._refuse(context, "no_identity", hello.sensor_id, peer.NO_IDENTITY)
            if why := settle_hello(hello.node, proven):
                await self._refuse(context, "hello", hello.sensor_id, why)
        why = protocol.refusal(hello.protocol_version)
        if why:
            log.warning("refused sensor %s: %s", hello.sensor_id, why)
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, why)
        if not hello.sensor_id or not hello.node.cluster:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "hello needs a sensor_id and node.cluster")
        return Session(hello.sensor_id, hello.node, list(hello.capabilities), context.peer(), proven)

    async def _refuse(self, context, reason: str, sensor_id: str, why: str) -> None:
        metrics.IDENTITY_REFUSED.labels(reason=reason).inc()
        log.warning("refused sensor %r from %s: %s", sensor_id, context.peer(), why)
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, why)

    async def _read(self, request_iterator, session: Session, out: asyncio.Queue) -> None:
        slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        pending: set[asyncio.Task] = set()
        try:
            async for msg in request_iterator:
                kind = msg.WhichOneof("msg")
                if kind in ("batch", "reject"):
                    await slots.acquire()
                    work = self._batch(msg.batch, session) if kind == "batch" else self._reject(msg.reject, session)
                    task = asyncio.create_task(self._ack_when_done(work, out, slots))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                elif kind == "status":
                    session.last_status = msg.status
                elif kind == "enforcement_ack":
                    ack = msg.enforcement_ack
                    session.acks[ack.program_id] = (ack.ok, ack.detail)
                    log.info("sensor %s: program %s %s %s", session.sensor_id, msg.enforcement_ack.program_id,
                             "applied" if msg.enforcement_ack.ok else "FAILED", msg.enforcement_ack.detail)
        except (grpc.aio.AioRpcError, asyncio.CancelledError):
            pass
        finally:
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
            out.put_nowait(None)

    async def _ack_when_done(self, work, out: asyncio.Queue, slots: asyncio.Semaphore) -> None:
        try:
            ack = await work
            out.put_nowait(sensor_pb2.GatewayMessage(ack=ack))
        except IdentityRefused as e:
            out.put_nowait(e)
        except ConnectionError:
            # JetStream stayed down: end the stream unacknowledged; the sensor
            # reconnects and re-sends everything it still holds.
            out.put_nowait(None)
        finally:
            slots.release()

    async def _batch(self, up: sensor_pb2.BatchUpload, s: Session) -> sensor_pb2.BatchAck:
        ctx = tracing.context_from({"traceparent": up.traceparent} if up.traceparent else None)
        with self.tracer.start_as_current_span("discovery gateway batch", context=ctx) as span:
            span.set_attribute("weft.sensor", s.sensor_id)
            span.set_attribute("weft.cluster", s.node.cluster)
            span.set_attribute("weft.node", s.node.name)
            origin = f"discovery gateway sensor={s.sensor_id}"
            try:
                if len(up.batch) > bus.MAX_BATCH_BYTES:  # would never fit the bus: refuse, don't loop
                    raise codec.InvalidInput(f"batch of {len(up.batch)} bytes exceeds the bus limit "
                                             f"of {bus.MAX_BATCH_BYTES}")
                checked = check_batch(up.batch)
            except codec.InvalidInput as e:
                await bus.dead_letter(self.js, str(e), origin, up.batch)
                s.deadlettered += 1
                metrics.BATCHES.labels(outcome="deadletter").inc()
                return sensor_pb2.BatchAck(seq=up.seq, stored=False, detail=str(e))
            if s.proven and (why := batch_refusal(checked.batch.node, _all_events(checked), s.proven)):
                raise IdentityRefused(why)
            span.set_attribute("weft.batch.size", len(checked.batch.events))
            for ev, why in checked.rejected:
                await bus.dead_letter(self.js, why, origin, ev.SerializeToString())
                s.deadlettered += 1
            subject = subjects.events(cluster_of(checked.batch, s.node))
            msg_id = s.msg_id(checked.batch.batch_id)
            if self.recent is not None:   # before publishing: the consumer may have it at once
                self.recent.keep(msg_id, checked.data, checked.batch)
            if not await self._publish(subject, checked, msg_id):
                raise ConnectionError("JetStream unavailable")
            s.batches += 1
            s.events += len(checked.batch.events)
            metrics.BATCHES.labels(outcome="stored").inc()
            metrics.EVENTS.labels(service="discovery").inc(len(checked.batch.events))
            return sensor_pb2.BatchAck(seq=up.seq, stored=True)

    async def _publish(self, subject: str, checked, msg_id: str) -> bool:
        for attempt in range(PUBLISH_ATTEMPTS):
            try:
                await bus.publish(self.js, subject, checked.batch, msg_id=msg_id, data=checked.data)
                return True
            except Exception as e:
                log.warning("publish of batch %s failed (attempt %d): %s", checked.batch.batch_id, attempt + 1, e)
                await asyncio.sleep(1.0)
        metrics.BATCHES.labels(outcome="failed").inc()
        return False

    async def _reject(self, r: sensor_pb2.Reject, s: Session) -> sensor_pb2.BatchAck:
        await bus.dead_letter(self.js, r.reason or "rejected by the sensor",
                              f"sensor={s.sensor_id} {r.origin}".strip(), r.data)
        s.rejected += 1
        return sensor_pb2.BatchAck(seq=r.seq, stored=False, detail="dead-lettered")

    async def _forward_downlink(self, s: Session, out: asyncio.Queue) -> None:
        while True:
            program = await s.downlink.get()
            out.put_nowait(sensor_pb2.GatewayMessage(program=program))


def _all_events(checked):
    return [*checked.batch.events, *(ev for ev, _ in checked.rejected)]
