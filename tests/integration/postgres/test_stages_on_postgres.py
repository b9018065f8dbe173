"""Every stage on both stores weft runs on, SQLite and PostgreSQL (the `db_url`
fixture is parametrized over the two): its migrations bring an empty database to
head, it handles real input over a real nats-server the same way on both (a
redelivery counted once, a GuardDuty finding stored as an alert, declarations
stored and judged, runtime events folded into the inventory), and a restart of the
stage finds everything it had stored. The PostgreSQL server runs in a time zone
other than UTC, so a timestamp that loses its zone on the way shows as a wrong time."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import String, inspect, text
from sqlmodel import Session, SQLModel, select

from stagekit import make_batch, publish_batch, running, wait_for
from weft.cli.offline import Options, analyze
from weft.common import bus, codec, received, store, subjects
from weft.detect import store as detect_store
from weft.detect.app import DetectStage
from weft.discovery import store as discovery_store
from weft.discovery.app import Discovery
from weft.discovery.core.recognise import recognise
from weft.enforce import store as enforce_store
from weft.enforce.app import EnforceStage
from weft.posture import store as posture_store
from weft.posture.app import PostureStage
from weft.v1 import alert_pb2, bus_pb2, inventory_pb2

TESTS = Path(__file__).resolve().parents[2]
ATTACK = TESTS / "data" / "reference-attack"
LAB = TESTS / "unit" / "posture" / "data" / "lab"
STAGES = {"discovery": Discovery, "posture": PostureStage, "detect": DetectStage, "enforce": EnforceStage}


def at(i: int) -> datetime:
    """The time stagekit.make_event(i) gives event i."""
    return datetime.fromtimestamp(1_700_000_000 + i, timezone.utc)


def head_of(stage: str) -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(STAGES[stage].migrations))
    return ScriptDirectory.from_config(cfg).get_current_head()


def tables_of(engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def version_of(engine, stage: str) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text(f"SELECT version_num FROM alembic_version_{stage}"))]


def schema_drift(engine, owned: set[str]) -> list:
    """What alembic's autogenerate would change to make these tables match the models:
    tables, columns, nullability and types (a timestamp without a time zone under
    sqlmodel's zone-aware datetime is drift: PostgreSQL would shift it by the session's zone)."""
    def include(obj, name, type_, reflected, compare_to):   # indexes: a migration may add what no model declares
        return name in owned if type_ == "table" else type_ != "index"

    def differs(_ctx, _inspected_col, _model_col, inspected, declared):
        declared = getattr(declared, "impl", declared)   # sqlmodel's AutoString, UTCDateTime
        if isinstance(inspected, String) and isinstance(declared, String) and not (inspected.length or declared.length):
            return False   # TEXT and an unbounded VARCHAR store the same on both
        return None        # alembic's own comparison (a timestamp's zone included)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": differs, "include_object": include})
        return compare_metadata(ctx, SQLModel.metadata)


async def caught_up(stage) -> None:
    """Every durable consumer of the stage has read all there is (its lag is 0)."""
    await wait_for(lambda: stage.lag.pending and all(n == 0 for n in stage.lag.pending.values()),
                   what=f"{stage.name}'s consumers caught up")


# --- migrations ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(STAGES))
def test_migrations_bring_an_empty_store_to_head(name, db_url):
    engine = store.make_engine(db_url)
    try:
        assert tables_of(engine) == set()
        store.migrate(engine, name, STAGES[name].migrations)
        owned = {t.name for t in SQLModel.metadata.sorted_tables if t.name.startswith(f"{name}_")}
        assert owned, f"{name} declares no tables"
        assert tables_of(engine) == owned | {f"alembic_version_{name}"}, "migrations create exactly the models' tables"
        assert version_of(engine, name) == [head_of(name)]
        assert schema_drift(engine, owned) == []
        store.migrate(engine, name, STAGES[name].migrations)   # a restart: nothing to do
        assert version_of(engine, name) == [head_of(name)]
    finally:
        engine.dispose()


REPLICA = """
import sys
from pathlib import Path
from weft.common import store
engine = store.make_engine(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()   # the start gate: every replica migrates at the same moment
store.migrate(engine, sys.argv[2], Path(sys.argv[3]))
"""


def test_replicas_of_every_stage_migrate_one_postgres_database_at_once(postgres_url):
    """Production: the stages share one database and two replicas of each start together,
    each its own process (alembic's context is per process, so processes, not threads)."""
    procs = [subprocess.Popen([sys.executable, "-c", REPLICA, postgres_url, name, str(STAGES[name].migrations)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for name in list(STAGES) * 2]
    try:
        assert [p.stdout.readline().strip() for p in procs] == ["ready"] * len(procs)
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        outcomes = [(p.wait(timeout=120), p.stdout.read()) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [out for code, out in outcomes if code != 0] == []
    engine = store.make_engine(postgres_url)
    try:
        for name in STAGES:
            assert version_of(engine, name) == [head_of(name)]
    finally:
        engine.dispose()


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_url_without_a_driver_uses_psycopg(scheme, postgres_url):
    """WEFT_DB_URL as providers hand it out (postgres://, postgresql://): psycopg 3, the driver weft ships."""
    engine = store.make_engine(postgres_url.replace("postgresql+psycopg://", f"{scheme}://"))
    try:
        assert engine.dialect.driver == "psycopg"
        with engine.connect() as conn:
            assert conn.execute(text("SHOW timezone")).scalar() != "UTC", "the test server must not run in UTC"
    finally:
        engine.dispose()


# --- detect -----------------------------------------------------------------------------------

async def alerts_on_bus(js) -> list[alert_pb2.Alert]:
    info = await js.stream_info("WEFT_ALERTS")
    return [alert_pb2.Alert.FromString((await js.get_msg("WEFT_ALERTS", seq)).data)
            for seq in range(info.state.first_seq, info.state.last_seq + 1)] if info.state.messages else []


def guardduty() -> bus_pb2.RawRecord:
    return bus_pb2.RawRecord(format="guardduty", source="guardduty.json", content_type="application/json",
                             data=(ATTACK / "provider-alerts" / "guardduty.json").read_bytes())


async def test_detect_counts_a_redelivery_once_stores_alerts_and_keeps_them(build_stage, nats_client):
    js = nats_client.jetstream()
    stage = build_stage("detect")
    handle, deliveries = stage.handlers.handle, []

    async def ack_lost_once(m):
        deliveries.append(m.metadata.num_delivered)
        await handle(m)
        if len(deliveries) == 1:   # stored, never acked: JetStream delivers it again
            raise ConnectionError("lost before ack")
    stage.handlers.handle = ack_lost_once
    async with running(stage):
        await publish_batch(js, make_batch([1, 2, 3]))
        await wait_for(lambda: stage.tally.duplicates == 1, what="the redelivery")
        await bus.publish(js, subjects.signals("aws"), guardduty())
        (published,) = await wait_for(lambda: alerts_on_bus(js), what="the GuardDuty alert on weft.alerts.v1")
        await wait_for(lambda: stage.tally.handled == 2, what="the GuardDuty record recorded")
        stories = {s.id: s for s in stage.storying.stories()}
    assert deliveries[:2] == [1, 2]
    [count] = detect_store.event_counts(stage.engine, "eks")
    assert (count.kind, count.events, count.occurrences, count.first_time, count.last_time) == \
        ("NETWORK_CONNECT", 3, 3, at(1), at(3))
    [alert] = detect_store.alerts(stage.engine)
    assert (alert.source, alert.id) == ("GUARDDUTY", published.id)
    assert alert.time == published.time.ToDatetime(timezone.utc)
    assert json.loads(alert.ocsf) == json.loads(published.ocsf_json)
    assert stories, "a GuardDuty alert opens a story"

    restarted = build_stage("detect")
    async with running(restarted):
        assert {s.id: s for s in restarted.storying.stories()} == stories
        await publish_batch(js, make_batch([4, 5]))
        await bus.publish(js, subjects.signals("aws"), guardduty())   # the same finding again: the same input
        await wait_for(lambda: (restarted.tally.handled, restarted.tally.duplicates) == (1, 1),
                       what="the new batch handled and the repeated finding known")
        await caught_up(restarted)
    [count] = detect_store.event_counts(restarted.engine, "eks")
    assert (count.events, count.occurrences, count.first_time, count.last_time) == (5, 5, at(1), at(5))
    assert [a.id for a in detect_store.alerts(restarted.engine)] == [published.id]
    assert received.totals(restarted.engine, detect_store.Received) == {"events": {"inputs": 2, "events": 5},
                                                                        "signals": {"inputs": 1, "events": 0}}


# --- posture ----------------------------------------------------------------------------------

async def publish_lab(js) -> list[tuple[str, bus_pb2.RawRecord]]:
    """The lab agent's declarations, audit logs and profile, as discovery's ingest publishes them."""
    sent = []
    for path in sorted(p for p in LAB.glob("*") if p.is_file() and p.suffix in (".json", ".jsonl", ".yaml")):
        for r in recognise(path.read_bytes(), path.name).records:
            if r.kind in ("declaration", "audit"):
                record = bus_pb2.RawRecord(format=r.format, source=r.location, content_type=r.content_type, data=r.data)
                await bus.publish(js, r.subject, record)
                sent.append((r.subject, record))
    doc = json.loads((LAB / "profiles" / "support-bot.json").read_text())
    await bus.publish(js, subjects.profiles(doc["agent"]), inventory_pb2.AgentProfile(
        id=doc["id"], name=doc["agent"], status=doc["status"], document_json=json.dumps(doc)))
    return sent


async def judged(stage) -> list[dict] | None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{stage.http_port}/v1/findings") as r:
            found = (await r.json())["findings"]
    return found if {"unused_permissions", "chain_reach"} <= {f["kind"] for f in found} else None


async def test_posture_stores_and_judges_declarations_and_judges_them_again_after_a_restart(build_stage, nats_client):
    js = nats_client.jetstream()
    stage = build_stage("posture", judge_interval=0.3)
    async with running(stage):
        sent = await publish_lab(js)
        findings = await wait_for(lambda: judged(stage), timeout=30, what="the lab's findings")
        await bus.publish(js, *sent[0])   # the same record again (another file, the same content)
        await wait_for(lambda: stage.tally.duplicates == 1, what="the repeated declaration known")
        await caught_up(stage)
    assert len(sent) > 5 and stage.tally.handled == len(sent) + 1
    stored = posture_store.inputs(stage.engine)
    assert sorted((r.format, r.source, r.data) for r in stored) == sorted((s.format, s.source, s.data) for _, s in sent)
    assert all(type(r.data) is bytes for r in stored)
    assert [p["agent"] for p in posture_store.profiles(stage.engine)] == ["agents/support-bot"]

    restarted = build_stage("posture", judge_interval=0.3)
    async with running(restarted):   # nothing new arrives: it judges what it stored
        again = await wait_for(lambda: judged(restarted), timeout=30, what="the findings judged from the store")
        await caught_up(restarted)   # and nothing was delivered again
    assert restarted.tally.handled == restarted.tally.duplicates == 0
    assert sorted(f["id"] for f in again) == sorted(f["id"] for f in findings)


# --- discovery --------------------------------------------------------------------------------

def attack_batches(*names: str):
    for name in names:
        events = [codec.event_from_json(line) for line in (ATTACK / "events" / name).read_text().splitlines() if line]
        yield events, codec.make_batch(events, f"test-{name}", node=events[0].node)


async def agents_of(stage) -> list[dict]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{stage.http_port}/v1/agents") as r:
            return (await r.json())["agents"]


async def _settled(stage, expected):
    agents = await agents_of(stage)
    return agents if agents == expected else None


async def test_discovery_folds_events_into_the_inventory_it_stores_and_restores(build_stage, nats_client):
    js = nats_client.jetstream()
    files = ("benign-eks-prod.jsonl", "benign-aks-prod.jsonl")
    offline = analyze([ATTACK / "events" / f for f in files], Options(learning_window="60s"))
    stage = build_stage("discovery", learning_window="60s", publish_interval=0.3)
    async with running(stage):
        for events, batch in attack_batches(*files):
            await bus.publish(js, subjects.events(events[0].node.cluster), batch)   # twice: no Nats-Msg-Id,
            await bus.publish(js, subjects.events(events[0].node.cluster), batch)   # the batch id counts it once

        def stored():
            _, entries = discovery_store.load_observe(stage.engine)
            return entries if {e.name for e in entries} == {"agents/support-bot", "tools/crm-mcp"} else None
        entries = await wait_for(stored, timeout=15, what="the agent and the MCP server stored in the inventory")
        live = await wait_for(lambda: _settled(stage, offline.inventory), timeout=15, what="the inventory settled")
    assert live == offline.inventory
    assert {e.name: list(e.clusters) for e in entries} == {"agents/support-bot": ["eks-prod"],
                                                           "tools/crm-mcp": ["aks-prod"]}
    expected = {}
    for events, _ in attack_batches(*files):
        for e in events:
            key = (e.node.cluster, e.workload.namespace, e.workload.name)
            t = datetime.fromtimestamp(e.time.seconds, timezone.utc)   # workloads keep whole seconds
            first, last, n = expected.get(key, (t, t, 0))
            expected[key] = (min(first, t), max(last, t), n + (e.count or 1))
    assert {(w.cluster, w.namespace, w.name): (w.first_seen, w.last_seen, w.events)
            for w in discovery_store.workloads(stage.engine)} == expected

    restarted = build_stage("discovery", learning_window="60s", publish_interval=0.3)
    async with running(restarted):
        assert await agents_of(restarted) == live, "the inventory survives a restart"


# --- enforce ----------------------------------------------------------------------------------

async def test_enforce_records_its_input_once_and_remembers_it_after_a_restart(build_stage, nats_client):
    js = nats_client.jetstream()
    seen = bus_pb2.WorkloadSeen(cluster="eks", name="agent")
    stage = build_stage("enforce")
    async with running(stage):
        for _ in range(2):   # no Nats-Msg-Id: the content is the input's id
            await bus.publish(js, subjects.INVENTORY, seen)
        await wait_for(lambda: (stage.tally.handled, stage.tally.duplicates) == (1, 1), what="one input, one repeat")
    [row] = _received(stage)
    assert (row.family, row.subject, row.type_name) == ("inventory", subjects.INVENTORY, "weft.v1.WorkloadSeen")
    assert abs(row.received_at - datetime.now(timezone.utc)).total_seconds() < 120

    restarted = build_stage("enforce")
    async with running(restarted):
        await bus.publish(js, subjects.INVENTORY, seen)
        await bus.publish(js, subjects.INVENTORY, bus_pb2.WorkloadSeen(cluster="aks", name="agent"))
        await wait_for(lambda: (restarted.tally.handled, restarted.tally.duplicates) == (1, 1),
                       what="the repeat known after the restart, the new input handled")
        await caught_up(restarted)
    assert received.totals(restarted.engine, enforce_store.Received) == {"inventory": {"inputs": 2, "events": 0}}


def _received(stage) -> list:
    with Session(stage.engine) as s:
        return list(s.exec(select(enforce_store.Received)).all())
