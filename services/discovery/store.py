"""discovery's tables: the workloads seen, per cluster, and the batches counted
into them (so a redelivered batch is counted once)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import case
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, Session, SQLModel, select

from weft.common.store import earlier, later, statement, upsert
from weft.discovery.core.workloads import WorkloadKey, WorkloadTally


class Workload(SQLModel, table=True):
    __tablename__ = "discovery_workloads"
    cluster: str = Field(primary_key=True)
    namespace: str = Field(primary_key=True)
    name: str = Field(primary_key=True)
    kind: str = ""
    service_account: str = ""
    provider: str = ""
    first_seen: datetime
    last_seen: datetime
    events: int = 0


class CountedBatch(SQLModel, table=True):
    __tablename__ = "discovery_counted_batches"
    batch_id: str = Field(primary_key=True)
    counted_at: datetime


def record_batch(engine: Engine, batch_id: str, tallies: dict[WorkloadKey, WorkloadTally]) -> bool:
    """Fold one batch's tallies into the table, once per batch id; False if seen before.
    Core upserts, one transaction: this runs once per event batch."""
    with engine.begin() as conn:
        counted = {"batch_id": batch_id, "counted_at": datetime.now(timezone.utc)}
        if conn.execute(statement(conn, _count_batch), counted).rowcount == 0:
            return False
        if tallies:
            conn.execute(statement(conn, _add_workloads),
                         [dict(cluster=k.cluster, namespace=k.namespace, name=k.name, kind=v.kind,
                               service_account=v.service_account, provider=v.provider,
                               first_seen=v.first_seen, last_seen=v.last_seen, events=v.events)
                          for k, v in tallies.items()])
    return True


def _count_batch(conn: Connection):
    return upsert(conn, CountedBatch.__table__).on_conflict_do_nothing()


def _add_workloads(conn: Connection):
    t = Workload.__table__
    ins = upsert(conn, t)
    new = ins.excluded
    keep = lambda col: case((getattr(new, col) != "", getattr(new, col)), else_=getattr(t.c, col))  # noqa: E731
    return ins.on_conflict_do_update(
        index_elements=[t.c.cluster, t.c.namespace, t.c.name],
        set_=dict(kind=keep("kind"), service_account=keep("service_account"), provider=keep("provider"),
                  first_seen=earlier(t.c.first_seen, new.first_seen),
                  last_seen=later(t.c.last_seen, new.last_seen), events=t.c.events + new.events))


def workloads(engine: Engine, cluster: str | None = None) -> list[Workload]:
    with Session(engine) as db:
        q = select(Workload)
        if cluster:
            q = q.where(Workload.cluster == cluster)
        return list(db.exec(q.order_by(Workload.cluster, Workload.namespace, Workload.name)))


class StoredProfile(SQLModel, table=True):
    __tablename__ = "discovery_profiles"
    agent: str = Field(primary_key=True)
    document: str
    updated_at: datetime


class StoredEntry(SQLModel, table=True):
    __tablename__ = "discovery_inventory"
    id: str = Field(primary_key=True)
    entry: bytes
    updated_at: datetime


def save_observe(engine: Engine, entries: list, profiles: list) -> None:
    """Inventory entries (protobuf) and profile messages, upserted in one transaction."""
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        if entries:
            t = StoredEntry.__table__
            ins = upsert(conn, t)
            conn.execute(ins.on_conflict_do_update(index_elements=[t.c.id], set_=dict(
                entry=ins.excluded.entry, updated_at=ins.excluded.updated_at)),
                [dict(id=e.id, entry=e.SerializeToString(deterministic=True), updated_at=now) for e in entries])
        if profiles:
            t = StoredProfile.__table__
            ins = upsert(conn, t)
            conn.execute(ins.on_conflict_do_update(index_elements=[t.c.agent], set_=dict(
                document=ins.excluded.document, updated_at=ins.excluded.updated_at)),
                [dict(agent=p.name, document=p.document_json, updated_at=now) for p in profiles])


def load_observe(engine: Engine) -> tuple[list[dict], list]:
    import json
    from weft.v1 import inventory_pb2
    with Session(engine) as db:
        profiles = [json.loads(p.document) for p in db.exec(select(StoredProfile))]
        entries = [inventory_pb2.InventoryEntry.FromString(e.entry) for e in db.exec(select(StoredEntry))]
    return profiles, entries
