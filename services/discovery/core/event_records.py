"""Ingested weft runtime events as EventBatches: one node's events per batch, in file
order, small enough for the bus. Pure."""
from __future__ import annotations

import json
from dataclasses import dataclass

from weft.common import codec, subjects
from weft.discovery.core.records import JSON, Problem, Record
from weft.v1 import event_pb2

INGEST_SENSOR_ID = "ingest"   # a constant, so the same file ingested twice gives the same batch ids
MAX_EVENTS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Batch:
    subject: str
    batch: event_pb2.EventBatch


def event_batches(records: list[Record], default_cluster: str) -> tuple[list[Batch], list[Problem]]:
    groups: dict[tuple[str, str], list[event_pb2.RuntimeEvent]] = {}
    problems: list[Problem] = []
    for r in records:
        line = r.data if r.content_type == JSON else json.dumps(r.value)
        try:
            ev = codec.event_from_json(line)
        except codec.InvalidInput as e:
            problems.append(Problem(r.location, str(e), r.data))
            continue
        cluster = ev.node.cluster or default_cluster
        groups.setdefault((cluster, ev.node.name), []).append(ev)
    batches = [_batch(cluster, chunk) for (cluster, _), events in groups.items() for chunk in _chunks(events)]
    return batches, problems


def _chunks(events: list[event_pb2.RuntimeEvent]):
    chunk, size = [], 0
    for ev in events:
        ev_size = ev.ByteSize()
        if chunk and (len(chunk) == MAX_EVENTS or size + ev_size > MAX_BATCH_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(ev)
        size += ev_size
    if chunk:
        yield chunk


def _batch(cluster: str, chunk: list[event_pb2.RuntimeEvent]) -> Batch:
    node = event_pb2.Node()
    node.CopyFrom(chunk[0].node)
    node.cluster = cluster
    return Batch(subjects.events(cluster), codec.make_batch(chunk, INGEST_SENSOR_ID, node))
