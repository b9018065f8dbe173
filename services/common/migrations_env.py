"""The alembic env shared by every stage's migrations/env.py: run on the
connection the stage passes in, into the stage's own version table."""
from __future__ import annotations

from alembic import context


def run() -> None:
    cfg = context.config
    conn = cfg.attributes["connection"]
    context.configure(connection=conn, version_table=cfg.attributes["version_table"],
                      render_as_batch=conn.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
