"""referrals_h6: referral programs, offers with codes and rewards, referrals (conversions), the reward ledger

Revision ID: d9b6c0a1e016
Revises: d9b5c0a1e015
Create Date: 2026-11-23 20:10:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = 'd9b6c0a1e016'
down_revision = 'd9b5c0a1e015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'referral_programs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('min_purchase', sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column('max_purchase', sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column('categories', sa.JSON(), nullable=False),
        sa.Column('min_nps', sa.Integer(), nullable=False),
        sa.Column('min_days', sa.Integer(), nullable=False),
        sa.Column('return_window_days', sa.Integer(), nullable=False),
        sa.Column('max_offers', sa.Integer(), nullable=False),
        sa.Column('reward_kind', sa.String(length=10), nullable=False),
        sa.Column('reward_percent', sa.Numeric(precision=18, scale=3), nullable=True),
        sa.Column('reward_floor', sa.Numeric(precision=18, scale=3), nullable=True),
        sa.Column('reward_cap', sa.Numeric(precision=18, scale=3), nullable=True),
        sa.Column('bands', sa.JSON(), nullable=False),
        sa.Column('rounding_step', sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column('min_share', sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column('friend_kind', sa.String(length=10), nullable=False),
        sa.Column('friend_value', sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column('reward_type', sa.String(length=20), nullable=False),
        sa.Column('hold_days', sa.Integer(), nullable=False),
        sa.Column('code_days', sa.Integer(), nullable=False),
        sa.Column('max_referrals', sa.Integer(), nullable=True),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_programs')),
    )
    with op.batch_alter_table('referral_offers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('program_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('code', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('reward_amount', sa.Numeric(precision=18, scale=3), nullable=True))
        batch_op.add_column(sa.Column('currency', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('channel', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('letter_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_referral_offers_program_id_referral_programs'),
                                    'referral_programs', ['program_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_referral_offers_letter_id_letters'), 'letters',
                                    ['letter_id'], ['id'])
        batch_op.create_unique_constraint(batch_op.f('uq_referral_offers_code'), ['code'])
        batch_op.create_unique_constraint(batch_op.f('uq_referral_offers_letter_id'), ['letter_id'])
        batch_op.create_index('ix_referral_offers_program_created', ['program_id', 'created_at'], unique=False)
    op.create_table(
        'referrals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sale_id', sa.Integer(), nullable=False),
        sa.Column('friend_customer_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('offer_id', sa.Integer(), nullable=True),
        sa.Column('program_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('reason', sa.String(length=30), nullable=True),
        sa.Column('reward_amount', sa.Numeric(precision=18, scale=3), nullable=True),
        sa.Column('currency', sa.String(length=3), nullable=True),
        sa.Column('sale_amount', sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column('sale_currency', sa.String(length=3), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('earn_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('earned_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['friend_customer_id'], ['customers.id'],
                                name=op.f('fk_referrals_friend_customer_id_customers')),
        sa.ForeignKeyConstraint(['offer_id'], ['referral_offers.id'], name=op.f('fk_referrals_offer_id_referral_offers')),
        sa.ForeignKeyConstraint(['program_id'], ['referral_programs.id'],
                                name=op.f('fk_referrals_program_id_referral_programs')),
        sa.ForeignKeyConstraint(['sale_id'], ['sales.id'], name=op.f('fk_referrals_sale_id_sales')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals')),
        sa.UniqueConstraint('sale_id', name=op.f('uq_referrals_sale_id')),
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_friend_customer_id'), ['friend_customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_offer_id'), ['offer_id'], unique=False)
        batch_op.create_index('ix_referrals_status_earn', ['status', 'earn_at'], unique=False)
        batch_op.create_index('ix_referrals_program_status', ['program_id', 'status'], unique=False)
    op.create_table(
        'referral_ledger',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('referral_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('program_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('amount', sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('reward_type', sa.String(length=20), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_referral_ledger_customer_id_customers')),
        sa.ForeignKeyConstraint(['program_id'], ['referral_programs.id'],
                                name=op.f('fk_referral_ledger_program_id_referral_programs')),
        sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_referral_ledger_referral_id_referrals')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_ledger')),
        sa.UniqueConstraint('referral_id', 'kind', name='uq_referral_ledger_referral_kind'),
    )
    with op.batch_alter_table('referral_ledger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_ledger_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_referral_ledger_at', ['at'], unique=False)


def downgrade():
    with op.batch_alter_table('referral_ledger', schema=None) as batch_op:
        batch_op.drop_index('ix_referral_ledger_at')
        batch_op.drop_index(batch_op.f('ix_referral_ledger_customer_id'))
    op.drop_table('referral_ledger')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_program_status')
        batch_op.drop_index('ix_referrals_status_earn')
        batch_op.drop_index(batch_op.f('ix_referrals_offer_id'))
        batch_op.drop_index(batch_op.f('ix_referrals_friend_customer_id'))
    op.drop_table('referrals')
    with op.batch_alter_table('referral_offers', schema=None) as batch_op:
        batch_op.drop_index('ix_referral_offers_program_created')
        batch_op.drop_constraint(batch_op.f('uq_referral_offers_letter_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_referral_offers_code'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_referral_offers_letter_id_letters'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_referral_offers_program_id_referral_programs'), type_='foreignkey')
        batch_op.drop_column('letter_id')
        batch_op.drop_column('channel')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('currency')
        batch_op.drop_column('reward_amount')
        batch_op.drop_column('code')
        batch_op.drop_column('program_id')
    op.drop_table('referral_programs')
