"""letters_h7: the calendar of a letter template's date (letter_templates.calendar), the customer's form of
address (customers.form_of_address) for the letter's greeting (issue 13)

Arabic templates may date letters in the Gregorian calendar, the Hijri (Umm al-Qura) one or both; a template
version keeps its choice. The form of address ("mr", "ms", "neutral"; empty: not known) comes from the
customer object of events or from staff on the customer page.

Revision ID: d9b7c0a1e017
Revises: d9b6c0a1e016
Create Date: 2026-11-23 20:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd9b7c0a1e017'
down_revision = 'd9b6c0a1e016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("letter_templates") as batch:
        batch.add_column(sa.Column("calendar", sa.String(length=10), nullable=False, server_default="gregorian"))
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("form_of_address", sa.String(length=10), nullable=True))


def downgrade():
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("form_of_address")
    with op.batch_alter_table("letter_templates") as batch:
        batch.drop_column("calendar")
