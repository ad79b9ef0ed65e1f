"""complaints_sla_h2: in-app notices of missed complaint targets (escalation)

Revision ID: d9b2c0a1e012
Revises: d9b1c0a1e011
Create Date: 2026-11-23 20:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd9b2c0a1e012'
down_revision = 'd9b1c0a1e011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "complaint_notices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("complaints.id"), nullable=False),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("target", sa.String(20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_complaint_notices_case_id", "complaint_notices", ["case_id"])
    op.create_index("ix_complaint_notices_staff_seen", "complaint_notices", ["staff_id", "seen_at"])


def downgrade():
    op.drop_index("ix_complaint_notices_staff_seen", table_name="complaint_notices")
    op.drop_index("ix_complaint_notices_case_id", table_name="complaint_notices")
    op.drop_table("complaint_notices")
