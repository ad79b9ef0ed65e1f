"""complaints_resolution_h3: a verification call's outcome finds its case by an index

Complaint cases keep their verification call in complaints.verification_touchpoint_id (issue 10, step 4); the
call's outcome looks the case up by it.

Revision ID: d9b3c0a1e013
Revises: d9b2c0a1e012
Create Date: 2026-11-23 20:10:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op

revision = 'd9b3c0a1e013'
down_revision = 'd9b2c0a1e012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_complaints_verification", "complaints", ["verification_touchpoint_id"])


def downgrade():
    op.drop_index("ix_complaints_verification", table_name="complaints")
