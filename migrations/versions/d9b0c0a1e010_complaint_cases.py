"""complaints: the five-step practice (statuses, categories with intake questions, changes, concessions,
customer types, SLA targets, verification calls)

Existing cases keep their meaning: "open" becomes "new", "resolved" becomes "solution_offered" (issue 10).

Revision ID: d9b0c0a1e010
Revises: d9a6c0a1e006
Create Date: 2026-11-23 20:00:00
"""
import sqlalchemy as sa
from alembic import op



revision = 'd9b0c0a1e010'
down_revision = 'd9a6c0a1e006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "complaint_categories",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(60), nullable=False, unique=True),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    with op.batch_alter_table("complaints") as batch:
        batch.alter_column("status", type_=sa.String(20), existing_type=sa.String(12))
        batch.add_column(sa.Column("sale_id", sa.Integer(), sa.ForeignKey("sales.id", name="fk_complaints_sale"),
                                   nullable=True))
        batch.add_column(sa.Column("source", sa.String(12), nullable=False, server_default="event"))
        batch.add_column(sa.Column("answers", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("owner_id", sa.Integer(),
                                   sa.ForeignKey("staff_users.id", name="fk_complaints_owner"), nullable=True))
        batch.add_column(sa.Column("first_response_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("resolution_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("verification_touchpoint_id", sa.Integer(),
                                   sa.ForeignKey("touchpoints.id", name="fk_complaints_verification"), nullable=True))
        batch.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reopened_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("from_touchpoint_id", sa.Integer(),
                                   sa.ForeignKey("touchpoints.id", name="fk_complaints_from_touchpoint"),
                                   nullable=True))
        batch.add_column(sa.Column("nps_answer_id", sa.Integer(),
                                   sa.ForeignKey("nps_answers.id", name="fk_complaints_nps_answer"), nullable=True))
        batch.create_index("ix_complaints_status_due", ["status", "resolution_due_at"])
        batch.create_index("ix_complaints_category_opened", ["category", "opened_at"])
        batch.create_index("ix_complaints_owner_id", ["owner_id"])
    op.execute("UPDATE complaints SET answers = '{}'")
    with op.batch_alter_table("complaints") as batch:
        batch.alter_column("answers", existing_type=sa.JSON(), nullable=False)
    op.execute("UPDATE complaints SET status = 'new' WHERE status = 'open'")
    op.execute("UPDATE complaints SET status = 'solution_offered' WHERE status = 'resolved'")
    op.create_table(
        "complaint_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("complaints.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_complaint_changes_case_at", "complaint_changes", ["case_id", "at"])
    op.create_table(
        "concessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("complaints.id"), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("amount", sa.Numeric(18, 3), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_concessions_case_id", "concessions", ["case_id"])
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("customer_type", sa.String(20), nullable=True))
        batch.add_column(sa.Column("customer_type_set_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("customer_type_set_by_id", sa.Integer(),
                                   sa.ForeignKey("staff_users.id", name="fk_customers_type_set_by"), nullable=True))
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("concession_limits", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("concession_limits")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("customer_type_set_by_id")
        batch.drop_column("customer_type_set_at")
        batch.drop_column("customer_type")
    op.drop_index("ix_concessions_case_id", table_name="concessions")
    op.drop_table("concessions")
    op.drop_index("ix_complaint_changes_case_at", table_name="complaint_changes")
    op.drop_table("complaint_changes")
    op.execute("UPDATE complaints SET status = 'open' WHERE status NOT IN ('solution_offered', 'verified', 'closed')")
    op.execute("UPDATE complaints SET status = 'resolved' WHERE status <> 'open'")
    with op.batch_alter_table("complaints") as batch:
        batch.drop_index("ix_complaints_owner_id")
        batch.drop_index("ix_complaints_category_opened")
        batch.drop_index("ix_complaints_status_due")
        for col in ("nps_answer_id", "from_touchpoint_id", "reopened_count", "closed_at", "verified_at",
                    "verification_touchpoint_id", "escalated_at", "first_response_at", "resolution_due_at",
                    "first_response_due_at", "owner_id", "answers", "source", "sale_id"):
            batch.drop_column(col)
        batch.alter_column("status", type_=sa.String(12), existing_type=sa.String(20))
    op.drop_table("complaint_categories")
