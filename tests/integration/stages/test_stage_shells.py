"""posture, detect and enforce as real services: HTTP endpoints, durable consumers,
idempotent handling, dead letters, restarts of the stage and of NATS, migrations."""
from __future__ import annotations

import asyncio
import json
import sqlite3

import aiohttp
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from stagekit import dead_letters, make_batch, publish_batch, raw_record, running, wait_for
from weft.common import bus, codec, received, subjects, tracing
from weft.detect import store as detect_store
from weft.v1 import bus_pb2, event_pb2

# One input each stage reads, to watch it consume over the real bus.
SAMPLE = {
    "detect": (subjects.events("eks"), make_batch([1, 2, 3])),
    "posture": (subjects.DECLARATIONS, raw_record("kubernetes", b"kind: Pod")),
    "enforce": (subjects.INVENTORY, bus_pb2.WorkloadSeen(cluster="eks", name="agent")),
}
LATEST = {"detect": "0003", "posture": "0002", "enforce": "0002"}
TABLES = {"detect": {"detect_received", "detect_event_counts", "detect_alerts"}, "posture": {"posture_received"},
          "enforce": {"enforce_received"}}


@pytest.mark.parametrize("name", ["detect", "posture", "enforce"])
async def test_stage_serves_health_readiness_metrics_and_status(name, build_stage, nats_client):
    stage = build_stage(name)
    async with running(stage):
        subject, msg = SAMPLE[name]
        await bus.publish(nats_client.jetstream(), subject, msg)
        await wait_for(lambda: stage.tally.handled == 1, what=f"{name} to handle its input")
        base = f"http://127.0.0.1:{stage.http_port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as r:
                assert r.status == 200 and (await r.json())["ok"] is True
            async with http.get(f"{base}/readyz") as r:
                assert r.status == 200 and (await r.json())["ready"] is True
            labels = {f'service="{name}"', f'subject="{subjects.stream_for(subject).name}"', 'outcome="ok"'}

            async def counted():
                async with http.get(f"{base}/metrics") as r:
                    samples = [line for line in (await r.text()).splitlines()
                               if line.startswith("weft_messages_total{")]
                return any(labels <= set(s[s.index("{") + 1:s.index("}")].split(",")) for s in samples)
            await wait_for(counted, what=f"weft_messages_total{{{','.join(sorted(labels))}}} in /metrics")

            async def caught_up():
                async with http.get(f"{base}/v1/status") as r:
                    body = await r.json()
                lag = body["lag"]
                return body if lag and all(n == 0 for n in lag.values()) else None
            status = await wait_for(caught_up, what="every consumer's lag to read 0")
        assert status["handled"] == 1 and status["deadlettered"] == 0
        assert len(status["lag"]) == len(stage.consumers())
    with sqlite3.connect(stage.config.data_dir / f"{name}.db") as db:
        tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
        assert TABLES[name] | {f"alembic_version_{name}"} <= tables
        assert db.execute(f"select version_num from alembic_version_{name}").fetchall() == [(LATEST[name],)]


async def test_redelivered_batch_is_counted_once(build_stage, nats_client):
    stage = build_stage("detect")
    handle, deliveries = stage.handlers.handle, []

    async def ack_lost_once(m):
        deliveries.append(m.metadata.num_delivered)
        await handle(m)
        if len(deliveries) == 1:  # stored, but never acked: the consumer naks, JetStream redelivers
            raise ConnectionError("lost before ack")
    stage.handlers.handle = ack_lost_once
    js = nats_client.jetstream()
    async with running(stage):
        await publish_batch(js, make_batch([1, 2, 3]))
        await wait_for(lambda: stage.tally.duplicates == 1, what="the redelivery")
        # Without a Nats-Msg-Id, identical content is the same input (its digest is the id).
        for _ in range(2):
            await bus.publish(js, subjects.signals("aws"), raw_record())
        await wait_for(lambda: stage.tally.duplicates == 2, what="the repeated signal")
    assert deliveries[:2] == [1, 2]
    assert (stage.tally.handled, stage.tally.events) == (2, 3)
    [count] = detect_store.event_counts(stage.engine, "eks")
    assert (count.kind, count.events, count.occurrences) == ("NETWORK_CONNECT", 3, 3)
    assert received.totals(stage.engine, detect_store.Received) == {"events": {"inputs": 1, "events": 3},
                                                 "signals": {"inputs": 1, "events": 0}}


async def test_garbage_is_dead_lettered_with_its_reason_and_the_next_batch_handled(build_stage, nats_client):
    stage = build_stage("detect")
    js = nats_client.jetstream()
    async with running(stage):
        await js.publish(subjects.events("eks"), b"\x00not a batch", headers={"x-origin": "test"})
        await js.publish(subjects.signals("aws"), b"\x00not a record")
        await publish_batch(js, make_batch([10, 11]))
        await wait_for(lambda: stage.tally.handled == 1, what="the good batch")

        async def two_dead_letters():
            found = await dead_letters(js)
            return found if len(found) == 2 else None
        found = await wait_for(two_dead_letters, what="two dead letters")
    by_subject = {dl.subject: dl for _, dl in found}
    events_dl, signals_dl = by_subject["weft.events.v1.eks"], by_subject["weft.signals.v1.aws"]
    assert "undecodable weft.v1.EventBatch" in events_dl.reason
    assert "undecodable weft.v1.RawRecord" in signals_dl.reason
    assert events_dl.payload == b"\x00not a batch" and events_dl.headers["x-origin"] == "test"
    assert events_dl.origin.startswith("detect ")
    assert (stage.tally.deadlettered, stage.tally.events) == (2, 2)


async def test_a_bad_event_is_dead_lettered_alone(build_stage, nats_client):
    stage = build_stage("detect")
    js = nats_client.jetstream()
    batch = make_batch([20, 21, 22])
    batch.events[1].kind = event_pb2.RuntimeEvent.KIND_UNSPECIFIED
    async with running(stage):
        await publish_batch(js, batch)
        await wait_for(lambda: stage.tally.handled == 1, what="the batch")
        [(_, dl)] = await wait_for(lambda: dead_letters(js), what="the bad event's dead letter")
    assert stage.tally.events == 2
    assert "ev-21" in dl.reason and "no kind" in dl.reason and dl.subject == subjects.events("eks")
    alone = codec.decode(event_pb2.EventBatch, dl.payload)  # a one-event batch: replayable as is
    assert [e.event_id for e in alone.events] == ["ev-21"]


async def test_undecodable_bytes_on_a_family_without_a_contract_yet_are_dead_lettered(build_stage, nats_client):
    stage = build_stage("enforce")
    js = nats_client.jetstream()
    async with running(stage):
        await js.publish(subjects.STORIES, b"\x00not a story")
        [(_, dl)] = await wait_for(lambda: dead_letters(js), what="the dead letter")
    assert dl.subject == subjects.STORIES and "undecodable" in dl.reason


async def test_restarted_detect_resumes_from_its_durable_consumer(build_stage, nats_client):
    js = nats_client.jetstream()
    first = build_stage("detect")
    async with running(first):
        await publish_batch(js, make_batch([1, 2]))
        await wait_for(lambda: first.tally.handled == 1, what="the first batch")
    await publish_batch(js, make_batch([3, 4]))   # while detect is down
    await publish_batch(js, make_batch([5]))
    second = build_stage("detect")
    async with running(second):
        await wait_for(lambda: second.tally.handled == 2, what="the batches published while down")
        await wait_for(lambda: all(n == 0 for n in second.lag.pending.values()), what="lag 0")
    assert (second.tally.duplicates, second.tally.events) == (0, 3)
    assert received.totals(second.engine, detect_store.Received)["events"] == {"inputs": 3, "events": 5}


async def test_detect_survives_a_nats_restart(build_stage, nats_client, nats_server):
    js = nats_client.jetstream()
    stage = build_stage("detect")
    async with running(stage):
        await publish_batch(js, make_batch([1]))
        await wait_for(lambda: stage.tally.handled == 1, what="the batch before the restart")
        await asyncio.to_thread(nats_server.restart)

        async def published():
            try:
                return await publish_batch(js, make_batch([2, 3]))
            except Exception:  # still reconnecting
                return None
        await wait_for(published, what="a publish after the restart")
        await wait_for(lambda: stage.tally.handled == 2, what="the batch after the restart")
    assert stage.tally.events == 3 and stage.tally.duplicates == 0


async def test_handling_is_a_child_span_of_the_consumer_span(build_stage, nats_client):
    stage = build_stage("detect")
    async with running(stage):
        spans = InMemorySpanExporter()
        trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(spans))
        with tracing.tracer("test").start_as_current_span("sensor upload") as upload:
            await publish_batch(nats_client.jetstream(), make_batch([40, 41]))

        def finished():
            names = {s.name: s for s in spans.get_finished_spans()}
            return names if {"detect consume", "detect handle batch"} <= names.keys() else None
        names = await wait_for(finished, what="the consumer's spans")
        spans.shutdown()
    consume, handle = names["detect consume"], names["detect handle batch"]
    assert consume.context.trace_id == upload.get_span_context().trace_id
    assert handle.parent.span_id == consume.context.span_id
    assert dict(handle.attributes) == {"weft.cluster": "eks", "weft.node": "node-1", "weft.batch.size": 2}
