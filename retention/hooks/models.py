"""The inbox of inbound events."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from retention.extensions import db
from retention.types import UTCDateTime

PENDING = "pending"          # stored, not yet applied
PROCESSED = "processed"      # applied
FAILED = "failed"            # applying raised; retried with backoff, then left for an admin
WAITING = "waiting"          # refers to a customer or sale not known yet; released when it arrives


class InboundEvent(db.Model):
    """One signed event as received, kept durably; the record of what the senders told us."""

    __tablename__ = "inbound_events"
    __table_args__ = (
        Index("ix_inbound_events_due", "status", "next_attempt_at"),
        Index("ix_inbound_events_customer", "customer_ref", "occurred_at"),
        Index("ix_inbound_events_sale", "sale_ref"),
        # Processed events whose payload is still whole, oldest first (the tick's pruning, hooks/pruning.py).
        Index("ix_inbound_events_unpruned", "pruned_at", "processed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict] = mapped_column(JSON)
    customer_ref: Mapped[str | None] = mapped_column(String(120), nullable=True)
    sale_ref: Mapped[str | None] = mapped_column(String(120), nullable=True)
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When the payload was cut down to what the timeline shows (the row and its webhook-id stay for idempotency).
    pruned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    def answer(self) -> dict:
        """The body answered to the sender, the first time and on every replay of the same id."""
        return {"id": f"evt_{self.id}", "status": "accepted"}
