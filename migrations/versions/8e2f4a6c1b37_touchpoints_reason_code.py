"""touchpoints: reason_code (why a step was skipped, as data; "enrolled_late" was parsed from the text)

Revision ID: 8e2f4a6c1b37
Revises: 7d3b9e1c4a52
Create Date: 2026-12-10 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8e2f4a6c1b37'
down_revision = '7d3b9e1c4a52'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('touchpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason_code', sa.String(length=20), nullable=True))
    # Steps skipped as late before this revision said so only in their text.
    op.execute("UPDATE touchpoints SET reason_code = 'enrolled_late' "
               "WHERE status = 'skipped' AND reason LIKE 'enrolled late%'")


def downgrade():
    with op.batch_alter_table('touchpoints', schema=None) as batch_op:
        batch_op.drop_column('reason_code')
