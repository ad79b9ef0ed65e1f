"""Surveys to send and NPS answers received."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from retention.extensions import db
from retention.types import UTCDateTime


class Survey(db.Model):
    """An NPS survey a touchpoint asked for; sending it is the surveys feature's job."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    touchpoint_id: Mapped[int | None] = mapped_column(ForeignKey("touchpoints.id"), unique=True, nullable=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="to_send")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class NpsAnswer(db.Model):
    """A score from 0 to 10 a customer gave, by survey link, letter QR code or another system."""

    __tablename__ = "nps_answers"
    __table_args__ = (Index("ix_nps_answers_customer_at", "customer_id", "answered_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    score: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(20), default="event")
    event_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_events.id"), unique=True, nullable=True)

    customer = relationship("Customer")


def nps_category(score: int | None) -> str | None:
    """9-10 promoter, 7-8 passive, 0-6 detractor."""
    if score is None:
        return None
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
