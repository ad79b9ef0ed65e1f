"""Complaint cases."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from retention.extensions import db
from retention.types import UTCDateTime


class Complaint(db.Model):
    """A complaint case opened by the helpdesk (or staff), open until a solution is offered."""

    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_customer_status", "customer_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(120), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(12), default="open")
    channel: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10), default="medium")
    public_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)

    customer = relationship("Customer")
