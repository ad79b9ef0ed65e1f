"""Keeping the inbox in check: processed events keep their row (and webhook-id) but only what the timeline shows.

A row is never deleted: its webhook-id answers a sender's retry with the first answer (idempotency, whatever
the sender's retry window), and the customer's timeline lists it. Only its payload shrinks, once processed and
older than `keep_days`, to the fields `hooks/timeline.py` reads; failed and waiting events keep theirs (an admin
may replay them).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from retention.hooks.models import PROCESSED, InboundEvent

# What the timeline shows of each event type (hooks/timeline.py: _event_detail); other types keep nothing.
TIMELINE_FIELDS: dict[str, tuple[str, ...]] = {
    "sale.completed": ("product", "amount", "currency"),
    "nps.response": ("score", "comment"),
    "complaint.opened": ("category", "channel", "summary"),
    "complaint.resolved": ("resolution",),
    "sale.refunded": ("reason",),
    "customer.churned": ("reason",),
}


def slim(event_type: str, data: dict | None) -> dict:
    """The part of a payload the timeline reads."""
    data = data or {}
    return {name: data[name] for name in TIMELINE_FIELDS.get(event_type, ()) if name in data}


def prune_payloads(session: Session, now: dt.datetime, keep_days: int, limit: int) -> int:
    """Cut down up to `limit` processed payloads older than `keep_days`, oldest first; returns how many."""
    cutoff = now - dt.timedelta(days=keep_days)
    rows = session.execute(
        select(InboundEvent.id, InboundEvent.type, InboundEvent.data)
        .where(InboundEvent.pruned_at.is_(None), InboundEvent.processed_at <= cutoff,
               InboundEvent.status == PROCESSED)
        .order_by(InboundEvent.processed_at).limit(limit)).all()
    if rows:
        session.execute(update(InboundEvent), [{"id": row.id, "data": slim(row.type, row.data), "pruned_at": now}
                                               for row in rows])
    return len(rows)
