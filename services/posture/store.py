"""The tables posture owns: every input it has handled (so a redelivery is counted
once), and the declarations, audit records and profiles it judges."""
from __future__ import annotations

import json
from typing import Callable

from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, Session, SQLModel, select

from weft.common import store as cstore
from weft.common.received import ReceivedBase


class Received(ReceivedBase, table=True):
    __tablename__ = "posture_received"


class Input(SQLModel, table=True):
    __tablename__ = "posture_inputs"
    content_id: str = Field(primary_key=True)
    format: str
    source: str
    content_type: str
    data: bytes


class StoredProfile(SQLModel, table=True):
    __tablename__ = "posture_profiles"
    agent: str = Field(primary_key=True)
    document: str


def add_input(content_id: str, record) -> Callable[[Connection], None]:
    """A raw record (weft.v1.RawRecord) stored with the input row that handled it."""
    def add(conn: Connection) -> None:
        conn.execute(cstore.upsert(conn, Input.__table__).on_conflict_do_nothing(),
                     dict(content_id=content_id, format=record.format, source=record.source,
                          content_type=record.content_type, data=record.data))
    return add


def put_profile(name: str, document: str) -> Callable[[Connection], None]:
    """The latest profile of an agent (profiles are republished whole)."""
    def put(conn: Connection) -> None:
        t = StoredProfile.__table__
        ins = cstore.upsert(conn, t)
        conn.execute(ins.on_conflict_do_update(index_elements=[t.c.agent], set_=dict(document=ins.excluded.document)),
                     dict(agent=name, document=document))
    return put


def inputs(engine: Engine) -> list[Input]:
    with Session(engine) as s:
        return list(s.exec(select(Input).order_by(Input.content_id)).all())


def profiles(engine: Engine) -> list[dict]:
    with Session(engine) as s:
        return [json.loads(p.document) for p in s.exec(select(StoredProfile).order_by(StoredProfile.agent))]
