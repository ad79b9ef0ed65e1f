"""editors: who saved each journey version and letter template version (created_by_id)

Revision ID: d9a5c0a1e005
Revises: d9a4c0a1e004
Create Date: 2026-11-23 17:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd9a5c0a1e005'
down_revision = 'd9a4c0a1e004'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('journeys', 'letter_templates'):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(f'fk_{table}_created_by_id_staff_users', 'staff_users',
                                        ['created_by_id'], ['id'])
    # Versions saved before this column: their author is in created_by ("staff:<id>").
    for table in ('journeys', 'letter_templates'):
        rows = op.get_bind().execute(sa.text(f"SELECT id, created_by FROM {table} WHERE created_by LIKE 'staff:%'"))
        for row_id, actor in rows.fetchall():
            staff_id = actor.split(':', 1)[1]
            if staff_id.isdigit():
                op.get_bind().execute(sa.text(
                    f"UPDATE {table} SET created_by_id = :sid WHERE id = :id AND EXISTS "
                    "(SELECT 1 FROM staff_users WHERE staff_users.id = :sid)"), {"sid": int(staff_id), "id": row_id})


def downgrade():
    for table in ('journeys', 'letter_templates'):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(f'fk_{table}_created_by_id_staff_users', type_='foreignkey')
            batch_op.drop_column('created_by_id')
