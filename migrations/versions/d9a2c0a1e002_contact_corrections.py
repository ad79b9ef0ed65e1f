"""customers: staff contact corrections (which fields staff corrected, and what they replaced) and the wrong-number flag

Revision ID: d9a2c0a1e002
Revises: d9a1c0a1e001
Create Date: 2026-11-23 17:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd9a2c0a1e002'
down_revision = 'd9a1c0a1e001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        # A call's "wrong number" outcome flags the phone until someone corrects it.
        batch_op.add_column(sa.Column('phone_flagged_at', sa.DateTime(timezone=True), nullable=True))
        # {field: {"at", "by", "replaced"}}: a staff correction an older or repeating event must not undo.
        batch_op.add_column(sa.Column('corrections', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('corrections')
        batch_op.drop_column('phone_flagged_at')
