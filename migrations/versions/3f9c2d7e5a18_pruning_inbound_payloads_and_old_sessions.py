"""inbound_events.pruned_at and indexes for the tick's pruning (processed payloads, old staff sessions)

Revision ID: 3f9c2d7e5a18
Revises: 8e2f4a6c1b37
Create Date: 2026-12-10 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3f9c2d7e5a18'
down_revision = '8e2f4a6c1b37'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pruned_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_inbound_events_unpruned', ['pruned_at', 'processed_at'], unique=False)
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_sessions_last_seen_at'), ['last_seen_at'], unique=False)


def downgrade():
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_sessions_last_seen_at'))
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_events_unpruned')
        batch_op.drop_column('pruned_at')
