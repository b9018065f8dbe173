"""The table every consuming stage keeps of what it has handled, so a redelivered
message changes nothing. Each stage declares its own table from ReceivedBase
(`<stage>_received`, created by the stage's own first migration)."""
from __future__ import annotations

import functools
import json
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import bindparam, func
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, Session, SQLModel, select

from weft.common import store
from weft.common.intake import Input


class ReceivedBase(SQLModel):
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


def row_for(inp: Input, kinds: dict[str, int], **fields) -> dict:
    return dict(family=inp.family, content_id=inp.content_id, subject=inp.subject, type_name=inp.type_name,
                kinds=json.dumps(kinds, sort_keys=True), skipped=inp.skipped,
                received_at=datetime.now(timezone.utc), **fields)


def record(engine: Engine, model: type[ReceivedBase], row: dict,
           also: Callable[[Connection], None] | None = None) -> bool:
    """Store one handled input (and whatever `also` adds) in one transaction;
    False if it was stored before (a redelivery, or another replica), and then
    nothing changes. Core statements: this runs once per bus message."""
    with engine.begin() as conn:
        if conn.execute(store.statement(conn, _inserts(model)), row).rowcount == 0:
            return False
        if also is not None:
            also(conn)
    return True


@functools.cache
def _inserts(model: type[ReceivedBase]) -> Callable[[Connection], object]:
    """The builder of `model`'s insert, one per table (store.statement keeps its statement)."""
    return lambda conn: store.upsert(conn, model.__table__).on_conflict_do_nothing()


def seen(engine: Engine, model: type[ReceivedBase], family: str, content_id: str) -> bool:
    """Whether an input is stored already (one primary-key lookup)."""
    with engine.connect() as conn:
        found = conn.execute(_lookup(model), {"family": family, "content_id": content_id})
        return found.first() is not None


@functools.cache
def _lookup(model: type[ReceivedBase]):
    t = model.__table__
    return select(t.c.content_id).where(t.c.family == bindparam("family"), t.c.content_id == bindparam("content_id"))


def totals(engine: Engine, model: type[ReceivedBase]) -> dict[str, dict[str, int]]:
    with Session(engine) as s:
        rows = s.exec(select(model.family, func.count(), func.sum(model.events)).group_by(model.family)).all()
    return {fam: {"inputs": n, "events": int(ev or 0)} for fam, n, ev in rows}
