"""surveys_h5: (placeholder, filled by its owner; may stay empty)

Revision ID: d9b5c0a1e015
Revises: d9b4c0a1e014
Create Date: 2026-11-23 20:10:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = 'd9b5c0a1e015'
down_revision = 'd9b4c0a1e014'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
