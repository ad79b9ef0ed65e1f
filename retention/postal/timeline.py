"""Timeline entries from the mail room: letters queued, printed, mailed or returned."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from retention.customers.models import Customer
from retention.customers.timeline import Entry
from retention.postal.models import Letter


def letters(session: Session, customer: Customer, limit: int) -> list[Entry]:
    """Letters queued, printed, mailed or returned."""
    entries = []
    for letter in session.scalars(select(Letter).where(Letter.customer_id == customer.id)
                                  .order_by(Letter.created_at.desc()).limit(limit)):
        at = letter.returned_at or letter.mailed_at or letter.printed_at or letter.created_at
        entries.append(Entry(at=at, kind="letter", title=f"Letter {letter.template_key} ({letter.language}): "
                                                         f"{letter.status}",
                             detail=letter.error or "", extra={"letter_id": letter.id}))
    return entries
