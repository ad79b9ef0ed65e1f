"""staff: the digits each reader's pages use

Revision ID: c4d19e7a0b21
Revises: b71c3e9d2f04
Create Date: 2026-11-23 17:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'c4d19e7a0b21'
down_revision = 'b71c3e9d2f04'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('staff_users') as batch_op:
        batch_op.add_column(sa.Column('digits', sa.String(length=8), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('staff_users') as batch_op:
        batch_op.drop_column('digits')
