"""Referral offers to make (the referrals feature sizes and sends them)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from retention.extensions import db
from retention.types import UTCDateTime


class ReferralOffer(db.Model):
    """An offer a touchpoint asked for, to a happy customer at the right moment."""

    __tablename__ = "referral_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    touchpoint_id: Mapped[int | None] = mapped_column(ForeignKey("touchpoints.id"), unique=True, nullable=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="to_make")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
