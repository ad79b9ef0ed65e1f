"""customer page: (helper customer) placeholder, filled in or left empty

Revision ID: d9a2c0a1e002
Revises: d9a1c0a1e001
Create Date: 2026-11-23 17:10:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = 'd9a2c0a1e002'
down_revision = 'd9a1c0a1e001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
