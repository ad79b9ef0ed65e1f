"""Referral programs (marketing's rules), offers with their codes, referrals (conversions) and the reward ledger."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from retention.extensions import db
from retention.types import Money, UTCDateTime

REWARD_KINDS = ("percent", "bands")
REWARD_TYPES = ("account_credit", "gift_card", "discount_code", "donation")
FRIEND_KINDS = ("amount", "percent")
CHANNELS = ("letter", "email", "auto")  # auto: email when the customer can be emailed, else a letter

# Offers: made (a code was issued and sent) -> cancelled (its letter never went: `reason` "letter_opted_out", the
# customer opted out of letters before it was posted; it no longer counts as an offer made).
# Referrals: pending -> earned (after the hold) | void (the friend's sale was refunded first); earned -> reversed
# (refunded after earning: a reversing ledger row); rejected (with a reason).
MADE = "made"
OFFER_CANCELLED = "cancelled"
PENDING, EARNED, VOID, REVERSED, REJECTED = "pending", "earned", "void", "reversed", "rejected"
# A place under a program's cap is taken by these.
COUNTED = (PENDING, EARNED)
REJECTIONS = ("unknown_code", "expired_code", "self_referral", "same_email", "same_phone", "same_address",
              "existing_customer", "program_cap")


class ReferralProgram(db.Model):
    """A referral program: who is asked (eligibility), what the advocate earns and what the friend gets."""

    __tablename__ = "referral_programs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Every amount of the program is in this currency: it sizes rewards on sales in it.
    currency: Mapped[str] = mapped_column(String(3))
    # The purchase values the program applies to (the insult guard is checked over all of it).
    min_purchase: Mapped[Decimal] = mapped_column(Money)
    max_purchase: Mapped[Decimal] = mapped_column(Money)
    categories: Mapped[list] = mapped_column(JSON, default=list)  # product categories included; empty: all
    # Eligibility at the moment of the referral step.
    min_nps: Mapped[int] = mapped_column(default=9)
    min_days: Mapped[int] = mapped_column(default=30)  # days since delivery (or the sale without one)
    return_window_days: Mapped[int] = mapped_column(default=14)
    max_offers: Mapped[int] = mapped_column(default=1)  # per customer, over every program
    # The advocate's reward: a percentage with floor and cap, or value bands; rounded to a friendly step.
    reward_kind: Mapped[str] = mapped_column(String(10), default="percent")
    reward_percent: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    reward_floor: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    reward_cap: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    bands: Mapped[list] = mapped_column(JSON, default=list)  # [{"from": "1000", "reward": "50"}, ...] ascending
    rounding_step: Mapped[Decimal] = mapped_column(Money)
    min_share: Mapped[Decimal] = mapped_column(Money)  # the insult guard, in percent of the purchase
    friend_kind: Mapped[str] = mapped_column(String(10), default="percent")
    friend_value: Mapped[Decimal] = mapped_column(Money)
    reward_type: Mapped[str] = mapped_column(String(20), default="account_credit")
    hold_days: Mapped[int] = mapped_column(default=30)
    code_days: Mapped[int] = mapped_column(default=90)
    max_referrals: Mapped[int | None] = mapped_column(nullable=True)  # the program cap; None: no cap
    channel: Mapped[str] = mapped_column(String(10), default="auto")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ReferralOffer(db.Model):
    """An offer made to a happy customer at the right moment: a code and the reward it earns."""

    __tablename__ = "referral_offers"
    __table_args__ = (Index("ix_referral_offers_program_created", "program_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    touchpoint_id: Mapped[int | None] = mapped_column(ForeignKey("touchpoints.id"), unique=True, nullable=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="to_make")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    program_id: Mapped[int | None] = mapped_column(ForeignKey("referral_programs.id"), nullable=True)
    code: Mapped[str | None] = mapped_column(String(12), nullable=True, unique=True)
    reward_amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    channel: Mapped[str | None] = mapped_column(String(10), nullable=True)  # letter | email
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id"), nullable=True, unique=True)
    reason: Mapped[str | None] = mapped_column(String(30), nullable=True)  # why cancelled (labels.OFFER_CANCELLED)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    program = relationship("ReferralProgram")
    customer = relationship("Customer")
    sale = relationship("Sale")


class Referral(db.Model):
    """A friend's sale that came with a referral code: rejected with a reason, or pending -> earned / void."""

    __tablename__ = "referrals"
    __table_args__ = (Index("ix_referrals_status_earn", "status", "earn_at"),
                      Index("ix_referrals_program_status", "program_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id"), unique=True)
    friend_customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("referral_offers.id"), nullable=True, index=True)
    program_id: Mapped[int | None] = mapped_column(ForeignKey("referral_programs.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(30), nullable=True)
    reward_amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    sale_amount: Mapped[Decimal] = mapped_column(Money)
    sale_currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    earn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    earned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    offer = relationship("ReferralOffer")
    program = relationship("ReferralProgram")
    sale = relationship("Sale")
    friend = relationship("Customer")


class LedgerEntry(db.Model):
    """One reward movement: +amount when a referral is earned, -amount when it is reversed (never edited)."""

    __tablename__ = "referral_ledger"
    # One reward and at most one reversal per referral: the guard that makes earning and reversing idempotent.
    __table_args__ = (UniqueConstraint("referral_id", "kind", name="uq_referral_ledger_referral_kind"),
                      Index("ix_referral_ledger_at", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)  # the advocate
    program_id: Mapped[int] = mapped_column(ForeignKey("referral_programs.id"))
    kind: Mapped[str] = mapped_column(String(10))  # reward | reversal
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    reward_type: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    referral = relationship("Referral")
    customer = relationship("Customer")
    program = relationship("ReferralProgram")
