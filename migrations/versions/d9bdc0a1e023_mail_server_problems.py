"""mail_server_problems, referral offers cancelled: what stops the mail server; offers whose letter never went

mail_server_problems: at most one row, what keeps the mail server from taking any email (a wrong password in
SMTP_URL, a server that cannot be reached...), since when; written by retention/mail/sending.py, deleted by the next
email the server takes, shown on /admin/outbox.
referral_offers.reason, cancelled_at: an offer whose letter was cancelled before posting (the customer opted out of
letters) is "cancelled" with the reason (retention/referrals/offers.py: cancel_unposted_offers).

Revision ID: d9bdc0a1e023
Revises: d9bcc0a1e022
Create Date: 2026-11-25 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd9bdc0a1e023'
down_revision = 'd9bcc0a1e022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mail_server_problems",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("problem", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_server_problems")),
    )
    with op.batch_alter_table("referral_offers") as batch:
        batch.add_column(sa.Column("reason", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("referral_offers") as batch:
        batch.drop_column("cancelled_at")
        batch.drop_column("reason")
    op.drop_table("mail_server_problems")
