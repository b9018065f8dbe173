"""The tables detect owns: every input it has handled (so a redelivery is counted
once) and per-cluster event counts by kind."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, select

from weft.common.received import ReceivedBase
from weft.detect.core.batches import KindCount, merge


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


def add_counts(cluster: str, counts: dict[str, KindCount]):
    """What `received.record` also writes for an event batch: the per-kind counts."""
    def add(s: Session) -> None:
        for kind, c in counts.items():
            have = s.get(EventCount, (cluster, kind))
            if have is None:
                s.add(EventCount(cluster=cluster, kind=kind, events=c.events, occurrences=c.occurrences,
                                 first_time=c.first_time, last_time=c.last_time))
                continue
            m = merge(KindCount(have.events, have.occurrences, have.first_time, have.last_time), c)
            have.events, have.occurrences, have.first_time, have.last_time = (
                m.events, m.occurrences, m.first_time, m.last_time)
    return add


def event_counts(engine: Engine, cluster: str | None = None) -> list[EventCount]:
    with Session(engine) as s:
        q = select(EventCount).order_by(EventCount.cluster, EventCount.kind)
        if cluster is not None:
            q = q.where(EventCount.cluster == cluster)
        return list(s.exec(q).all())
