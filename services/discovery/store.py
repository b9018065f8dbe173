"""discovery's tables: the workloads seen, per cluster, and the batches counted
into them (so a redelivered batch is counted once)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, select

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
    """Fold one batch's tallies into the table, once per batch id; False if seen before."""
    with Session(engine) as db:
        if db.get(CountedBatch, batch_id) is not None:
            return False
        db.add(CountedBatch(batch_id=batch_id, counted_at=datetime.now(timezone.utc)))
        for key, t in tallies.items():
            row = db.get(Workload, (key.cluster, key.namespace, key.name))
            if row is None:
                row = Workload(cluster=key.cluster, namespace=key.namespace, name=key.name,
                               first_seen=t.first_seen, last_seen=t.last_seen)
            row.kind = t.kind or row.kind
            row.service_account = t.service_account or row.service_account
            row.provider = t.provider or row.provider
            row.first_seen = min(row.first_seen, t.first_seen)
            row.last_seen = max(row.last_seen, t.last_seen)
            row.events += t.events
            db.add(row)
        db.commit()
        return True


def workloads(engine: Engine, cluster: str | None = None) -> list[Workload]:
    with Session(engine) as db:
        q = select(Workload)
        if cluster:
            q = q.where(Workload.cluster == cluster)
        return list(db.exec(q.order_by(Workload.cluster, Workload.namespace, Workload.name)))
