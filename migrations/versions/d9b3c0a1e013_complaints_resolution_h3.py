"""complaints_resolution_h3: (placeholder, filled by its owner; may stay empty)

Revision ID: d9b3c0a1e013
Revises: d9b2c0a1e012
Create Date: 2026-11-23 20:10:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = 'd9b3c0a1e013'
down_revision = 'd9b2c0a1e012'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
