"""Queued letters (the letters feature renders and prints them)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from retention.extensions import db
from retention.types import UTCDateTime

QUEUED, PRINTED, MAILED, RETURNED = "queued", "printed", "mailed", "returned"


class Letter(db.Model):
    """One personalized letter to post: queued -> printed -> mailed (or returned)."""

    __tablename__ = "letters"
    __table_args__ = (Index("ix_letters_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    touchpoint_id: Mapped[int | None] = mapped_column(ForeignKey("touchpoints.id"), unique=True, nullable=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id"), nullable=True)
    template_key: Mapped[str] = mapped_column(String(60))
    language: Mapped[str] = mapped_column(String(10), default="en")
    status: Mapped[str] = mapped_column(String(12), default=QUEUED)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    customer = relationship("Customer")
