"""The tables detect owns: every input it has handled (so a redelivery is counted
once) and per-cluster event counts by kind."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from weft.detect.core.batches import KindCount, merge


class Received(SQLModel, table=True):
    __tablename__ = "detect_received"
    family: str = Field(primary_key=True)       # subject family: events, signals, ...
    content_id: str = Field(primary_key=True)   # Nats-Msg-Id, else a digest of the payload
    subject: str
    type_name: str
    cluster: str = ""
    node: str = ""
    events: int = 0
    rejected: int = 0
    kinds: str = "{}"                           # JSON: event kind (or record format) -> count
    skipped: bool = False
    received_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))


class EventCount(SQLModel, table=True):
    __tablename__ = "detect_event_counts"
    cluster: str = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    events: int = 0
    occurrences: int = 0                        # events stand for `count` occurrences each
    first_time: datetime
    last_time: datetime


def is_recorded(engine: Engine, family: str, content_id: str) -> bool:
    with Session(engine) as s:
        return s.get(Received, (family, content_id)) is not None


def record(engine: Engine, row: Received, counts: dict[str, KindCount] | None = None) -> bool:
    """Store one handled input and add its counts, in one transaction; False if
    it was already stored (a redelivery), in which case nothing changes."""
    with Session(engine) as s:
        if s.get(Received, (row.family, row.content_id)) is not None:
            return False
        s.add(row)
        for kind, c in (counts or {}).items():
            have = s.get(EventCount, (row.cluster, kind))
            if have is None:
                s.add(EventCount(cluster=row.cluster, kind=kind, events=c.events, occurrences=c.occurrences,
                                 first_time=c.first_time, last_time=c.last_time))
                continue
            m = merge(KindCount(have.events, have.occurrences, have.first_time, have.last_time), c)
            have.events, have.occurrences, have.first_time, have.last_time = (
                m.events, m.occurrences, m.first_time, m.last_time)
        try:
            s.commit()
        except IntegrityError:  # another replica stored it first
            s.rollback()
            return False
    return True


def totals(engine: Engine) -> dict[str, dict[str, int]]:
    with Session(engine) as s:
        rows = s.exec(select(Received.family, func.count(), func.sum(Received.events))
                      .group_by(Received.family)).all()
    return {fam: {"inputs": n, "events": int(ev or 0)} for fam, n, ev in rows}


def event_counts(engine: Engine, cluster: str | None = None) -> list[EventCount]:
    with Session(engine) as s:
        q = select(EventCount).order_by(EventCount.cluster, EventCount.kind)
        if cluster is not None:
            q = q.where(EventCount.cluster == cluster)
        return list(s.exec(q).all())
