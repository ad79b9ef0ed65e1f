"""handed_work: the work rows of handed-out touchpoints, written after the hand-out (issue 14's tick floor)

The hand-out queues (touchpoint_id, kind) here in its own transaction; `retention.journeys.handout.write_handed_work`
writes the surveys, letters, offers and emails from them in bounded batches (the tick, then the job). A queue:
no foreign key, each row deleted with the work it became.

Revision ID: d9bcc0a1e022
Revises: d9bbc0a1e021
Create Date: 2026-11-24 05:05:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd9bcc0a1e022'
down_revision = 'd9bbc0a1e021'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "handed_work",
        sa.Column("touchpoint_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("handed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("touchpoint_id", name=op.f("pk_handed_work")),
    )


def downgrade():
    op.drop_table("handed_work")
