"""The history of call attempts and their outcomes."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from retention.extensions import db
from retention.types import UTCDateTime

OUTCOMES = ("reached", "no_answer", "voicemail", "wrong_number", "call_back")
SENTIMENTS = ("happy", "neutral", "unhappy")


class CallAttempt(db.Model):
    """One call made by a staff member and what came of it."""

    __tablename__ = "call_attempts"
    __table_args__ = (Index("ix_call_attempts_customer_at", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    touchpoint_id: Mapped[int] = mapped_column(ForeignKey("touchpoints.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(20))
    sentiment: Mapped[str | None] = mapped_column(String(10), nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    call_back_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    staff = relationship("StaffUser")
    touchpoint = relationship("Touchpoint")


class CustomerNote(db.Model):
    """A note a staff member wrote on a customer (from the customer page), kept on their timeline."""

    __tablename__ = "customer_notes"
    __table_args__ = (Index("ix_customer_notes_customer_at", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text)

    staff = relationship("StaffUser")
