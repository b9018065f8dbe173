"""detect: alerts (provider findings normalised to OCSF, and weft's own detections)

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
        "detect_alerts",
        sa.Column("source", sa.String(), primary_key=True),
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("severity_id", sa.Integer(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ocsf", sa.Text(), nullable=False),
    )
    op.create_index("detect_alerts_time", "detect_alerts", ["time"])


def downgrade() -> None:
    op.drop_index("detect_alerts_time", "detect_alerts")
    op.drop_table("detect_alerts")
