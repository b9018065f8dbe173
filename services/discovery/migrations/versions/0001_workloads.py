"""discovery: workloads seen, and the batches counted into them

Revision ID: discovery_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "discovery_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "discovery_workloads",
        sa.Column("cluster", sa.String(), primary_key=True),
        sa.Column("namespace", sa.String(), primary_key=True),
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("kind", sa.String(), nullable=False, server_default=""),
        sa.Column("service_account", sa.String(), nullable=False, server_default=""),
        sa.Column("provider", sa.String(), nullable=False, server_default=""),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "discovery_counted_batches",
        sa.Column("batch_id", sa.String(), primary_key=True),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("discovery_counted_batches")
    op.drop_table("discovery_workloads")
