"""editors: (helper editors) placeholder, filled in or left empty

Revision ID: d9a5c0a1e005
Revises: d9a4c0a1e004
Create Date: 2026-11-23 17:10:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = 'd9a5c0a1e005'
down_revision = 'd9a4c0a1e004'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
