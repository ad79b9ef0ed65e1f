"""calls: call scripts per language (journey_steps.scripts), ad-hoc calls (touchpoints without a step, with a
purpose and a note) and customer notes

Revision ID: d9a1c0a1e001
Revises: c4d19e7a0b21
Create Date: 2026-11-23 17:10:00

A step's single `script` becomes its English script in `scripts` ({"en": ..., "ar": ..., "fa": ...}).
A touchpoint is either a journey step's (enrollment and step set, no purpose) or an ad-hoc call a person
opened (no enrollment or step, a purpose; never "scheduled", so the tick's hand-out never sees one).
"""
import json

import sqlalchemy as sa
from alembic import op

revision = 'd9a1c0a1e001'
down_revision = 'c4d19e7a0b21'
branch_labels = None
depends_on = None

CHECK = ("(enrollment_id IS NOT NULL AND step_id IS NOT NULL AND purpose IS NULL) OR "
         "(enrollment_id IS NULL AND step_id IS NULL AND purpose IS NOT NULL AND kind = 'call' "
         "AND status IN ('open', 'done', 'skipped'))")


def upgrade():
    with op.batch_alter_table('journey_steps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scripts', sa.JSON(), nullable=True))
    steps = sa.table('journey_steps', sa.column('id', sa.Integer), sa.column('script', sa.Text),
                     sa.column('scripts', sa.JSON))
    conn = op.get_bind()
    for step_id, script in conn.execute(sa.select(steps.c.id, steps.c.script)).all():
        conn.execute(steps.update().where(steps.c.id == step_id)
                     .values(scripts={"en": script} if script else {}))
    with op.batch_alter_table('journey_steps', schema=None) as batch_op:
        batch_op.alter_column('scripts', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column('script')

    with op.batch_alter_table('touchpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
        batch_op.alter_column('enrollment_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('step_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint(op.f('ck_touchpoints_step_or_adhoc'), CHECK)

    op.create_table(
        'customer_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_notes_customer_id_customers')),
        sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_customer_notes_staff_id_staff_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_notes')),
    )
    op.create_index('ix_customer_notes_customer_at', 'customer_notes', ['customer_id', 'at'], unique=False)


def downgrade():
    op.drop_index('ix_customer_notes_customer_at', table_name='customer_notes')
    op.drop_table('customer_notes')
    conn = op.get_bind()
    touchpoints = sa.table('touchpoints', sa.column('id', sa.Integer), sa.column('step_id', sa.Integer))
    attempts = sa.table('call_attempts', sa.column('touchpoint_id', sa.Integer))
    adhoc = sa.select(touchpoints.c.id).where(touchpoints.c.step_id.is_(None))
    conn.execute(attempts.delete().where(attempts.c.touchpoint_id.in_(adhoc)))  # ad-hoc calls cannot go back
    conn.execute(touchpoints.delete().where(touchpoints.c.step_id.is_(None)))
    with op.batch_alter_table('touchpoints', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_touchpoints_step_or_adhoc'), type_='check')
        batch_op.alter_column('step_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('enrollment_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('note')
        batch_op.drop_column('purpose')

    with op.batch_alter_table('journey_steps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('script', sa.Text(), nullable=True))
    steps = sa.table('journey_steps', sa.column('id', sa.Integer), sa.column('script', sa.Text),
                     sa.column('scripts', sa.JSON))
    for step_id, scripts in conn.execute(sa.select(steps.c.id, steps.c.scripts)).all():
        scripts = json.loads(scripts) if isinstance(scripts, str) else (scripts or {})
        conn.execute(steps.update().where(steps.c.id == step_id).values(script=scripts.get("en", "")))
    with op.batch_alter_table('journey_steps', schema=None) as batch_op:
        batch_op.alter_column('script', existing_type=sa.Text(), nullable=False)
        batch_op.drop_column('scripts')
