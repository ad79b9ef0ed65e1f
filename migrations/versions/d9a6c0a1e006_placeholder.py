"""letters: (helper letters) placeholder, filled in or left empty

Revision ID: d9a6c0a1e006
Revises: d9a5c0a1e005
Create Date: 2026-11-23 17:10:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = 'd9a6c0a1e006'
down_revision = 'd9a5c0a1e005'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
