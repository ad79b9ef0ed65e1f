"""letters: signers in the reader's script (staff_users.letter_signatures), one paper per batch (print_batches.paper)

Each staff member may carry their name and title per letter language ({"ar": {"name", "title"}, "fa": ...}),
so Arabic and Persian letters are signed in Arabic script; a print batch records the paper its PDF needs
(issue 13).

Revision ID: d9a6c0a1e006
Revises: d9a5c0a1e005
Create Date: 2026-11-23 17:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd9a6c0a1e006'
down_revision = 'd9a5c0a1e005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("letter_signatures", sa.JSON(), nullable=True))
    with op.batch_alter_table("print_batches") as batch:
        batch.add_column(sa.Column("paper", sa.String(length=10), nullable=True))


def downgrade():
    with op.batch_alter_table("print_batches") as batch:
        batch.drop_column("paper")
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("letter_signatures")
