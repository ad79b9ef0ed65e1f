"""staff: (helper staff) placeholder, filled in or left empty

Revision ID: d9a3c0a1e003
Revises: d9a2c0a1e002
Create Date: 2026-11-23 17:10:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = 'd9a3c0a1e003'
down_revision = 'd9a2c0a1e002'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
