"""referrals_h6: (placeholder, filled by its owner; may stay empty)

Revision ID: d9b6c0a1e016
Revises: d9b5c0a1e015
Create Date: 2026-11-23 20:10:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = 'd9b6c0a1e016'
down_revision = 'd9b5c0a1e015'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
