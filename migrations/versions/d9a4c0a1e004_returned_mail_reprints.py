"""mail room: returned mail with a reason and an undo, single-letter reprints, when a batch build was queued

Revision ID: d9a4c0a1e004
Revises: d9a3c0a1e003
Create Date: 2026-11-23 17:10:00
"""
import sqlalchemy as sa
from alembic import op


revision = 'd9a4c0a1e004'
down_revision = 'd9a3c0a1e003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'returned_mail',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('letter_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=20), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('previous_status', sa.String(length=12), nullable=False),
        sa.Column('returned_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_by', sa.String(length=120), nullable=False),
        sa.Column('call_id', sa.Integer(), nullable=True),
        sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('undone_by', sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(['letter_id'], ['letters.id']),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id']),
        sa.ForeignKeyConstraint(['call_id'], ['touchpoints.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_returned_mail_letter_id', 'returned_mail', ['letter_id'])
    op.create_index('ix_returned_mail_customer_id', 'returned_mail', ['customer_id'])
    op.create_index('ix_returned_mail_returned_at', 'returned_mail', ['returned_at'])
    op.create_index('ix_returned_mail_reason_returned_at', 'returned_mail', ['reason', 'returned_at'])
    with op.batch_alter_table('letters') as batch_op:
        batch_op.add_column(sa.Column('reprint_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('reprinted_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('print_batches') as batch_op:
        batch_op.add_column(sa.Column('build_requested_at', sa.DateTime(timezone=True), nullable=True))
    # Returns recorded before reasons existed: kept, with the reason "other" and a note saying so.
    op.execute("INSERT INTO returned_mail (letter_id, customer_id, reason, note, previous_status, returned_at, "
               "recorded_by) SELECT id, customer_id, 'other', 'recorded before return reasons existed', "
               "CASE WHEN mailed_at IS NULL THEN 'printed' ELSE 'mailed' END, returned_at, 'migration' "
               "FROM letters WHERE status = 'returned' AND returned_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table('print_batches') as batch_op:
        batch_op.drop_column('build_requested_at')
    with op.batch_alter_table('letters') as batch_op:
        batch_op.drop_column('reprinted_at')
        batch_op.drop_column('reprint_count')
    op.drop_index('ix_returned_mail_reason_returned_at', table_name='returned_mail')
    op.drop_index('ix_returned_mail_returned_at', table_name='returned_mail')
    op.drop_index('ix_returned_mail_customer_id', table_name='returned_mail')
    op.drop_index('ix_returned_mail_letter_id', table_name='returned_mail')
    op.drop_table('returned_mail')
