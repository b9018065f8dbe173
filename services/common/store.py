"""Each stage's store: a SQLAlchemy engine brought to the stage's alembic head.

Stages share a database only by URL; each keeps its own alembic version table
(`alembic_version_<stage>`) so their migrations never collide. Times are columns
with a time zone (`sa.DateTime(timezone=True)`, sqlmodel's aware datetimes): on
PostgreSQL a column without one would shift them by the session's time zone.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

from alembic import command
from alembic.config import Config
from sqlalchemy import Table, case, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.sql import Executable
from sqlmodel import create_engine


def make_engine(url: str) -> Engine:
    """SQLite under a path, or PostgreSQL through psycopg 3 (the driver weft ships;
    a plain postgresql:// URL would otherwise ask SQLAlchemy for psycopg2)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _wal(conn, _record):  # readers (the CLI) never block the stage's writes
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        return engine
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True)


def upsert(conn: Connection, table: Table):
    """INSERT for this connection's dialect, with on_conflict_do_nothing/do_update
    (SQLite and PostgreSQL, the two stores weft runs on). Its rowcount is kept, so
    `rowcount == 0` tells a conflict on PostgreSQL too (psycopg's is gone, -1, once
    SQLAlchemy closes the cursor of an INSERT without RETURNING)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise RuntimeError(f"weft stores run on SQLite or PostgreSQL, not {conn.dialect.name}")
    return insert(table).execution_options(preserve_rowcount=True)


_statements: dict[tuple[str, Callable], Executable] = {}


def statement(conn: Connection, build: Callable[[Connection], Executable]) -> Executable:
    """`build(conn)`'s statement, built once per dialect: on the paths that write per
    batch, building an upsert (and its cache key) costs more than running it."""
    key = (conn.dialect.name, build)
    found = _statements.get(key)
    if found is None:
        found = _statements[key] = build(conn)
    return found


def earlier(a, b):
    """The earlier of two column expressions, portably (no LEAST/MIN(a, b) split)."""
    return case((b < a, b), else_=a)


def later(a, b):
    return case((b > a, b), else_=a)


def migrate(engine: Engine, stage: str, migrations_dir: Path) -> None:
    """Upgrade this stage's tables to head (idempotent). On PostgreSQL the replicas of
    a stage starting at once take turns (a transaction-scoped advisory lock)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.attributes["version_table"] = f"alembic_version_{stage}"
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            key = int.from_bytes(hashlib.blake2b(f"weft-migrate-{stage}".encode(), digest_size=8).digest(),
                                 "big", signed=True)
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
