"""processing_speed: placeholder (filled by the helper that owns it; an empty migration is valid)

Revision ID: d9bac0a1e020
Revises: d9b9c0a1e019
Create Date: 2026-11-23 22:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd9bac0a1e020'
down_revision = 'd9b9c0a1e019'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
