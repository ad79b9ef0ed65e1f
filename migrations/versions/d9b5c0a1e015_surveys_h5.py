"""surveys_h5: surveys sent by email or letter (hashed token, channel, open until), one NPS answer per survey
and its follow-up, a survey step's channel

Revision ID: d9b5c0a1e015
Revises: d9b4c0a1e014
Create Date: 2026-11-23 20:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd9b5c0a1e015'
down_revision = 'd9b4c0a1e014'
branch_labels = None
depends_on = None

_SURVEY_TIMES = ("sent_at", "closes_at", "answered_at", "closed_at")
_ANSWER_TIMES = ("first_answered_at", "follow_up_due_at", "followed_up_at")


def upgrade():
    with op.batch_alter_table("surveys") as batch:
        batch.add_column(sa.Column("sale_id", sa.Integer(), sa.ForeignKey("sales.id", name="fk_surveys_sale"),
                                   nullable=True))
        batch.add_column(sa.Column("wanted_channel", sa.String(10), nullable=False, server_default="auto"))
        batch.add_column(sa.Column("channel", sa.String(10), nullable=True))
        batch.add_column(sa.Column("token_nonce", sa.String(64), nullable=True))
        batch.add_column(sa.Column("token_hash", sa.String(64), nullable=True))
        for name in _SURVEY_TIMES:
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reason", sa.String(40), nullable=True))
        batch.add_column(sa.Column("email_id", sa.Integer(),
                                   sa.ForeignKey("outbound_emails.id", name="fk_surveys_email"), nullable=True))
        batch.add_column(sa.Column("letter_id", sa.Integer(), sa.ForeignKey("letters.id", name="fk_surveys_letter"),
                                   nullable=True))
        batch.add_column(sa.Column("letter_template", sa.String(60), nullable=True))
        batch.create_unique_constraint("uq_surveys_token_hash", ["token_hash"])
        batch.create_index("ix_surveys_letter_id", ["letter_id"])
        batch.create_index("ix_surveys_status_closes", ["status", "closes_at"])
        batch.create_index("ix_surveys_customer_sent", ["customer_id", "sent_at"])
    with op.batch_alter_table("nps_answers") as batch:
        batch.add_column(sa.Column("survey_id", sa.Integer(), sa.ForeignKey("surveys.id", name="fk_nps_answers_survey"),
                                   nullable=True))
        for name in _ANSWER_TIMES:
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("call_id", sa.Integer(), sa.ForeignKey("touchpoints.id", name="fk_nps_answers_call"),
                                   nullable=True))
        batch.create_unique_constraint("uq_nps_answers_survey_id", ["survey_id"])
        batch.create_index("ix_nps_answers_follow_up", ["followed_up_at", "follow_up_due_at"])
    with op.batch_alter_table("journey_steps") as batch:
        batch.add_column(sa.Column("channel", sa.String(10), nullable=True))
    # The thank-you letter's QR code linked to /feedback?c=<customer number>: anyone could answer as anyone.
    # Stored templates that still carry that link print the customer's own survey link instead.
    op.execute(sa.text("UPDATE letter_templates SET qr_url = '{{ survey_url }}' "
                       "WHERE qr_url LIKE '%/feedback?c={{ customer.id }}%'"))


def downgrade():
    with op.batch_alter_table("journey_steps") as batch:
        batch.drop_column("channel")
    with op.batch_alter_table("nps_answers") as batch:
        batch.drop_index("ix_nps_answers_follow_up")
        batch.drop_constraint("uq_nps_answers_survey_id", type_="unique")
        batch.drop_constraint("fk_nps_answers_call", type_="foreignkey")
        batch.drop_constraint("fk_nps_answers_survey", type_="foreignkey")
        batch.drop_column("call_id")
        for name in _ANSWER_TIMES:
            batch.drop_column(name)
        batch.drop_column("survey_id")
    with op.batch_alter_table("surveys") as batch:
        batch.drop_index("ix_surveys_customer_sent")
        batch.drop_index("ix_surveys_status_closes")
        batch.drop_index("ix_surveys_letter_id")
        batch.drop_constraint("uq_surveys_token_hash", type_="unique")
        for fk in ("fk_surveys_letter", "fk_surveys_email", "fk_surveys_sale"):
            batch.drop_constraint(fk, type_="foreignkey")
        for name in ("letter_template", "letter_id", "email_id", "reason", *_SURVEY_TIMES, "token_hash",
                     "token_nonce", "channel", "wanted_channel", "sale_id"):
            batch.drop_column(name)
