"""staff: the languages each person speaks, and who got a new customer who does not speak their language

Revision ID: d9a3c0a1e003
Revises: d9a2c0a1e002
Create Date: 2026-11-23 17:10:00

staff_users.languages: the languages a person speaks with customers (["fa", "en"]); existing staff are taken
to speak the language of their pages. enrollments.assigned_owner_id / owner_language / owner_fallback: the owner
an enrollment chose and, when they do not speak the customer's language, which language and why
("no_speaker", "no_room").
"""
import sqlalchemy as sa
from alembic import op

revision = 'd9a3c0a1e003'
down_revision = 'd9a2c0a1e002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('languages', sa.JSON(), nullable=False, server_default='[]'))
    staff = sa.table('staff_users', sa.column('id', sa.Integer), sa.column('locale', sa.String),
                     sa.column('languages', sa.JSON))
    conn = op.get_bind()
    for staff_id, locale in conn.execute(sa.select(staff.c.id, staff.c.locale)).all():
        base = (locale or "en").replace("_", "-").split("-")[0].lower() or "en"
        conn.execute(staff.update().where(staff.c.id == staff_id).values(languages=[base]))

    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assigned_owner_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('owner_language', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('owner_fallback', sa.String(length=12), nullable=True))
        batch_op.create_foreign_key('fk_enrollments_assigned_owner_id_staff_users', 'staff_users',
                                    ['assigned_owner_id'], ['id'])
        batch_op.create_index('ix_enrollments_owner_fallback', ['owner_fallback', 'assigned_owner_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.drop_index('ix_enrollments_owner_fallback')
        batch_op.drop_constraint('fk_enrollments_assigned_owner_id_staff_users', type_='foreignkey')
        batch_op.drop_column('owner_fallback')
        batch_op.drop_column('owner_language')
        batch_op.drop_column('assigned_owner_id')
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_column('languages')
