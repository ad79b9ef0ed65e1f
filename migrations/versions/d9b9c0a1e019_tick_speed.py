"""tick_speed: fewer index entries per work row the tick hands out (issue 14, bench/tick.py)

surveys: ix_surveys_customer_id dropped (ix_surveys_customer_sent starts with customer_id); ix_surveys_letter_id
and ix_letters_batch_id only where the column is set (a survey by email has no letter, a queued letter no batch).

Revision ID: d9b9c0a1e019
Revises: d9b8c0a1e018
Create Date: 2026-11-23 22:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd9b9c0a1e019'
down_revision = 'd9b8c0a1e018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("surveys") as batch:
        batch.drop_index("ix_surveys_customer_id")
        batch.drop_index("ix_surveys_letter_id")
        batch.create_index("ix_surveys_letter_id", ["letter_id"], postgresql_where=sa.text("letter_id IS NOT NULL"),
                           sqlite_where=sa.text("letter_id IS NOT NULL"))
    with op.batch_alter_table("letters") as batch:
        batch.drop_index("ix_letters_batch_id")
        batch.create_index("ix_letters_batch_id", ["batch_id"], postgresql_where=sa.text("batch_id IS NOT NULL"),
                           sqlite_where=sa.text("batch_id IS NOT NULL"))


def downgrade():
    with op.batch_alter_table("letters") as batch:
        batch.drop_index("ix_letters_batch_id")
        batch.create_index("ix_letters_batch_id", ["batch_id"])
    with op.batch_alter_table("surveys") as batch:
        batch.drop_index("ix_surveys_letter_id")
        batch.create_index("ix_surveys_letter_id", ["letter_id"])
        batch.create_index("ix_surveys_customer_id", ["customer_id"])
