"""customers.search_text: name, email, id and phone folded for search (Arabic/Persian variants, digits, phones)

Revision ID: b71c3e9d2f04
Revises: 3f9c2d7e5a18
Create Date: 2026-11-23 13:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

from retention.customers.folding import search_text

# revision identifiers, used by Alembic.
revision = 'b71c3e9d2f04'
down_revision = '3f9c2d7e5a18'
branch_labels = None
depends_on = None

BATCH = 2000


def upgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.String(length=700), server_default='', nullable=False))
    # Existing customers are folded here, a batch at a time; new details are folded as they arrive.
    bind = op.get_bind()
    customers = sa.table('customers', sa.column('id', sa.Integer), sa.column('name', sa.String),
                         sa.column('email', sa.String), sa.column('external_id', sa.String),
                         sa.column('phone', sa.String), sa.column('search_text', sa.String))
    last = 0
    while True:
        rows = bind.execute(sa.select(customers.c.id, customers.c.name, customers.c.email, customers.c.external_id,
                                      customers.c.phone).where(customers.c.id > last)
                            .order_by(customers.c.id).limit(BATCH)).all()
        if not rows:
            break
        bind.execute(customers.update().where(customers.c.id == sa.bindparam('row_id'))
                     .values(search_text=sa.bindparam('folded')),
                     [{'row_id': r.id, 'folded': search_text(r.name, r.email, r.external_id, r.phone)} for r in rows])
        last = rows[-1].id


def downgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('search_text')
