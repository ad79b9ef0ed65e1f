"""staff_pages_speed: sales by currency and amount (the customer page's high-roller suggestion, bench/tick.py)

ix_sales_currency_amount: complaints/types.py counts a currency's sales and those above one amount in one
index-only scan instead of two passes over the sales table.

Revision ID: d9bbc0a1e021
Revises: d9bac0a1e020
Create Date: 2026-11-24 02:10:00
"""
from alembic import op

revision = 'd9bbc0a1e021'
down_revision = 'd9bac0a1e020'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("sales") as batch:
        batch.create_index("ix_sales_currency_amount", ["currency", "amount"])


def downgrade():
    with op.batch_alter_table("sales") as batch:
        batch.drop_index("ix_sales_currency_amount")
