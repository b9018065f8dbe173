"""discovery's bus handlers: decode, call the core, store or forward. Nothing else."""
from __future__ import annotations

import asyncio

from nats.aio.msg import Msg
from sqlalchemy.engine import Engine

from weft.common import codec, subjects, tracing
from weft.discovery import store
from weft.discovery.core.workloads import tally
from weft.discovery.recent import RecentBatches
from weft.discovery.sessions import Registry
from weft.v1 import event_pb2, sensor_pb2


class NoSensor(RuntimeError):
    """Retryable: the program's node has no sensor connected right now."""


def on_events(engine: Engine, observing=None, recent: RecentBatches | None = None):
    def fold(bid: str, batch, cluster: str) -> None:
        store.record_batch(engine, bid, tally(batch, cluster))
        if observing is not None:   # idempotent: profiles keep first-seen times, so a redelivery adds nothing
            observing.observe(batch.events)

    async def handle(m: Msg) -> None:
        msg_id = (m.headers or {}).get(codec.H_MSG_ID, "")
        batch = (recent.take(msg_id, m.data) if recent is not None else None) or \
            codec.decode(event_pb2.EventBatch, m.data)
        with tracing.tracer("weft-discovery").start_as_current_span("discovery inventory batch") as span:
            span.set_attribute("weft.cluster", batch.node.cluster)
            span.set_attribute("weft.batch.size", len(batch.events))
            bid = msg_id or batch.batch_id
            cluster = batch.node.cluster or subjects.untoken(m.subject.split(".", 3)[-1])
            await asyncio.to_thread(fold, bid, batch, cluster)
    return handle


def on_enforcement(registry: Registry):
    async def handle(m: Msg) -> None:
        program = codec.decode(sensor_pb2.EnforcementProgram, m.data)
        tokens = m.subject.split(".")
        if len(tokens) != 5:
            raise codec.InvalidInput(f"enforcement subject {m.subject!r} is not {subjects.ENFORCE}.<cluster>.<node>")
        cluster, node = subjects.untoken(tokens[3]), subjects.untoken(tokens[4])
        if node == subjects.ALL_NODES:
            registry.keep_program(cluster, program)
        sessions = registry.for_node(cluster, node)
        if not sessions:
            raise NoSensor(f"no sensor connected for cluster {cluster!r} node {node!r}")
        for s in sessions:
            s.downlink.put_nowait(program)
    return handle
