"""discovery: the Observe state kept across restarts (profiles, inventory entries)

Revision ID: discovery_0002
Revises: discovery_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "discovery_0002"
down_revision = "discovery_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "discovery_profiles",
        sa.Column("agent", sa.String(), primary_key=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "discovery_inventory",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("discovery_inventory")
    op.drop_table("discovery_profiles")
