"""mail_h4: outbound emails (SMTP or the outbox folder) and customers' opt-outs per channel

Revision ID: d9b4c0a1e014
Revises: d9b3c0a1e013
Create Date: 2026-11-23 20:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd9b4c0a1e014'
down_revision = 'd9b3c0a1e013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outbound_emails",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ref", sa.String(120), nullable=False, unique=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=True),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.Column("to_address", sa.String(254), nullable=False),
        sa.Column("locale", sa.String(10), nullable=False),
        sa.Column("subject", sa.String(400), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("message_id", sa.String(250), nullable=False, unique=True),
        sa.Column("unsubscribe_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_outbound_emails_status_next", "outbound_emails", ["status", "next_attempt_at"])
    op.create_index("ix_outbound_emails_customer_created", "outbound_emails", ["customer_id", "created_at"])
    op.create_table(
        "customer_opt_outs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.UniqueConstraint("customer_id", "channel", name="uq_customer_opt_outs_channel"),
    )


def downgrade():
    op.drop_table("customer_opt_outs")
    op.drop_index("ix_outbound_emails_customer_created", table_name="outbound_emails")
    op.drop_index("ix_outbound_emails_status_next", table_name="outbound_emails")
    op.drop_table("outbound_emails")
