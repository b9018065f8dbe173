"""The tables detect owns: every input it has handled (so a redelivery is counted
once) and per-cluster event counts by kind."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, Session, SQLModel, select

from weft.common import store as cstore
from weft.common.received import ReceivedBase
from weft.detect.core.batches import KindCount


class Received(ReceivedBase, table=True):
    __tablename__ = "detect_received"


class EventCount(SQLModel, table=True):
    __tablename__ = "detect_event_counts"
    cluster: str = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    events: int = 0
    occurrences: int = 0                        # events stand for `count` occurrences each
    first_time: datetime
    last_time: datetime


def add_counts(cluster: str, counts: dict[str, KindCount]) -> Callable[[Connection], None]:
    """What `received.record` also writes for an event batch: the per-kind counts,
    added in the database (one upsert) so replicas never overwrite each other."""
    def add(conn: Connection) -> None:
        if counts:
            conn.execute(cstore.statement(conn, _add_counts),
                         [dict(cluster=cluster, kind=kind, events=c.events, occurrences=c.occurrences,
                               first_time=c.first_time, last_time=c.last_time) for kind, c in counts.items()])
    return add


def _add_counts(conn: Connection):
    t = EventCount.__table__
    ins = cstore.upsert(conn, t)
    new = ins.excluded
    return ins.on_conflict_do_update(index_elements=[t.c.cluster, t.c.kind], set_=dict(
        events=t.c.events + new.events, occurrences=t.c.occurrences + new.occurrences,
        first_time=cstore.earlier(t.c.first_time, new.first_time),
        last_time=cstore.later(t.c.last_time, new.last_time)))


class Alert(SQLModel, table=True):
    __tablename__ = "detect_alerts"
    source: str = Field(primary_key=True)
    id: str = Field(primary_key=True)
    severity_id: int
    time: datetime
    ocsf: str


def add_alerts(alerts: list) -> Callable[[Connection], None]:
    """Alerts (weft.v1.Alert) stored with the input they came from; an alert already
    stored (the same finding ingested twice) keeps its first copy."""
    def add(conn: Connection) -> None:
        if alerts:
            conn.execute(cstore.upsert(conn, Alert.__table__).on_conflict_do_nothing(),
                         [dict(source=a.source, id=a.id, severity_id=a.severity_id,
                               time=a.time.ToDatetime(timezone.utc), ocsf=a.ocsf_json) for a in alerts])
    return add


def alerts(engine: Engine, limit: int = 1000) -> list[Alert]:
    with Session(engine) as s:
        return list(s.exec(select(Alert).order_by(Alert.time.desc()).limit(limit)).all())


def event_counts(engine: Engine, cluster: str | None = None) -> list[EventCount]:
    with Session(engine) as s:
        q = select(EventCount).order_by(EventCount.cluster, EventCount.kind)
        if cluster is not None:
            q = q.where(EventCount.cluster == cluster)
        return list(s.exec(q).all())


class State(SQLModel, table=True):
    __tablename__ = "detect_state"
    name: str = Field(primary_key=True)
    document: str
    updated_at: datetime


def save_state(engine: Engine, name: str, document: str) -> None:
    with engine.begin() as conn:
        t = State.__table__
        ins = cstore.upsert(conn, t)
        conn.execute(ins.on_conflict_do_update(index_elements=[t.c.name], set_=dict(
            document=ins.excluded.document, updated_at=ins.excluded.updated_at)),
            dict(name=name, document=document, updated_at=datetime.now(timezone.utc)))


def load_state(engine: Engine, name: str) -> str | None:
    with Session(engine) as s:
        row = s.get(State, name)
        return row.document if row else None
