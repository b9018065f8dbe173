"""Each stage's store: a SQLAlchemy engine brought to the stage's alembic head.

Stages share a database only by URL; each keeps its own alembic version table
(`alembic_version_<stage>`) so their migrations never collide.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Engine
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


def migrate(engine: Engine, stage: str, migrations_dir: Path) -> None:
    """Upgrade this stage's tables to head (idempotent)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.attributes["version_table"] = f"alembic_version_{stage}"
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
