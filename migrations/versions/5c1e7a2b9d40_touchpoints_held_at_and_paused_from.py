"""touchpoints: held_at (a person set the call's time) and paused_from (status before a pause)

Revision ID: 5c1e7a2b9d40
Revises: 2ae0ff27284d
Create Date: 2026-11-30 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c1e7a2b9d40'
down_revision = '2ae0ff27284d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('touchpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('paused_from', sa.String(length=12), nullable=True))


def downgrade():
    with op.batch_alter_table('touchpoints', schema=None) as batch_op:
        batch_op.drop_column('paused_from')
        batch_op.drop_column('held_at')
