"""complaints_cases_h1: (placeholder, filled by its owner; may stay empty)

Revision ID: d9b1c0a1e011
Revises: d9b0c0a1e010
Create Date: 2026-11-23 20:10:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = 'd9b1c0a1e011'
down_revision = 'd9b0c0a1e010'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
