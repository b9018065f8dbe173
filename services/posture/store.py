"""The tables posture owns: every input it has handled, so a redelivery is counted once."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select


class Received(SQLModel, table=True):
    __tablename__ = "posture_received"
    family: str = Field(primary_key=True)       # subject family: declarations, audit, ...
    content_id: str = Field(primary_key=True)   # Nats-Msg-Id, else a digest of the payload
    subject: str
    type_name: str
    cluster: str = ""
    node: str = ""
    events: int = 0
    rejected: int = 0
    kinds: str = "{}"                           # JSON: record format -> count
    skipped: bool = False
    received_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))


def is_recorded(engine: Engine, family: str, content_id: str) -> bool:
    with Session(engine) as s:
        return s.get(Received, (family, content_id)) is not None


def record(engine: Engine, row: Received) -> bool:
    """Store one handled input; False if it was already stored (a redelivery)."""
    with Session(engine) as s:
        if s.get(Received, (row.family, row.content_id)) is not None:
            return False
        s.add(row)
        try:
            s.commit()
        except IntegrityError:  # another replica stored it first
            s.rollback()
            return False
    return True


def totals(engine: Engine) -> dict[str, dict[str, int]]:
    with Session(engine) as s:
        rows = s.exec(select(Received.family, func.count()).group_by(Received.family)).all()
    return {fam: {"inputs": n} for fam, n in rows}
