"""calls: (helper calls) placeholder, filled in or left empty

Revision ID: d9a1c0a1e001
Revises: c4d19e7a0b21
Create Date: 2026-11-23 17:10:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = 'd9a1c0a1e001'
down_revision = 'c4d19e7a0b21'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
