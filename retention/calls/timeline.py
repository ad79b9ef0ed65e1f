"""Timeline entries from calls: each call made to the customer and its outcome."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from retention.calls.models import CallAttempt
from retention.customers.models import Customer
from retention.customers.timeline import Entry


def call_attempts(session: Session, customer: Customer, limit: int) -> list[Entry]:
    """Calls made to the customer and their outcomes."""
    rows = session.scalars(select(CallAttempt).where(CallAttempt.customer_id == customer.id)
                           .options(joinedload(CallAttempt.staff))
                           .order_by(CallAttempt.at.desc()).limit(limit))
    return [Entry(at=a.at, kind="call", title=f"Call: {a.outcome.replace('_', ' ')}",
                  detail=" · ".join(x for x in (a.sentiment, a.staff.display_name if a.staff else "") if x),
                  private=a.notes or "")
            for a in rows]
