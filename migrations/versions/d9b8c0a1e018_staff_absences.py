"""staff_absences: days a staff member is away (staff_absences), and the calls a colleague covers for them
(touchpoints.covering_for_id, touchpoints.covered_at)

While someone is away nobody new is given to them, and their calls due go to a colleague who is in; the card
and the timeline say whom the colleague covers for (retention/staff/absences.py, retention/journeys/cover.py).

Revision ID: d9b8c0a1e018
Revises: d9b7c0a1e017
Create Date: 2026-11-23 22:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd9b8c0a1e018'
down_revision = 'd9b7c0a1e017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "staff_absences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=500), server_default="", nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_users.id"], name=op.f("fk_staff_absences_staff_id_staff_users")),
        sa.ForeignKeyConstraint(["created_by_id"], ["staff_users.id"],
                                name=op.f("fk_staff_absences_created_by_id_staff_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_absences")),
    )
    op.create_index("ix_staff_absences_staff_starts", "staff_absences", ["staff_id", "starts_on"])
    op.create_index("ix_staff_absences_ends_on", "staff_absences", ["ends_on"])
    with op.batch_alter_table("touchpoints") as batch:
        batch.add_column(sa.Column("covering_for_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("covered_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(batch.f("fk_touchpoints_covering_for_id_staff_users"), "staff_users",
                                 ["covering_for_id"], ["id"])


def downgrade():
    with op.batch_alter_table("touchpoints") as batch:
        batch.drop_constraint(batch.f("fk_touchpoints_covering_for_id_staff_users"), type_="foreignkey")
        batch.drop_column("covered_at")
        batch.drop_column("covering_for_id")
    op.drop_index("ix_staff_absences_ends_on", table_name="staff_absences")
    op.drop_index("ix_staff_absences_staff_starts", table_name="staff_absences")
    op.drop_table("staff_absences")
