"""Each stage's store: a SQLAlchemy engine brought to the stage's alembic head.

Stages share a database only by URL; each keeps its own alembic version table
(`alembic_version_<stage>`) so their migrations never collide.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Table, case, event
from sqlalchemy.engine import Connection, Engine
from sqlmodel import create_engine


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _wal(conn, _record):  # readers (the CLI) never block the stage's writes
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        return engine
    return create_engine(url, pool_pre_ping=True)


def upsert(conn: Connection, table: Table):
    """INSERT for this connection's dialect, with on_conflict_do_nothing/do_update
    (SQLite and PostgreSQL, the two stores weft runs on)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise RuntimeError(f"weft stores run on SQLite or PostgreSQL, not {conn.dialect.name}")
    return insert(table)


def earlier(a, b):
    """The earlier of two column expressions, portably (no LEAST/MIN(a, b) split)."""
    return case((b < a, b), else_=a)


def later(a, b):
    return case((b > a, b), else_=a)


def migrate(engine: Engine, stage: str, migrations_dir: Path) -> None:
    """Upgrade this stage's tables to head (idempotent)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.attributes["version_table"] = f"alembic_version_{stage}"
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
