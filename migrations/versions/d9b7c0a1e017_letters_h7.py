"""letters_h7: (placeholder, filled by its owner; may stay empty)

Revision ID: d9b7c0a1e017
Revises: d9b6c0a1e016
Create Date: 2026-11-23 20:10:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = 'd9b7c0a1e017'
down_revision = 'd9b6c0a1e016'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
