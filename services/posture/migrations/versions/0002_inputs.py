"""posture: the declarations, audit records and profiles it judges (kept so a restart
judges the same inputs)

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "posture_inputs",
        sa.Column("content_id", sa.String(), primary_key=True),
        sa.Column("format", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("content_type", sa.String(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "posture_profiles",
        sa.Column("agent", sa.String(), primary_key=True),
        sa.Column("document", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("posture_profiles")
    op.drop_table("posture_inputs")
