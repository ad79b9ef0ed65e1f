"""A customer's timeline: everything received and done about them, newest first.

Each feature adds a source (a function returning entries) to SOURCES; the page merges them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from retention.customers.models import Customer
from retention.hooks.models import InboundEvent

EVENT_TITLES = {
    "customer.upserted": "Customer details received",
    "sale.completed": "Sale completed",
    "sale.delivered": "Delivered",
    "sale.refunded": "Refunded",
    "complaint.opened": "Complaint opened",
    "complaint.resolved": "Complaint resolved",
    "nps.response": "NPS answer",
    "customer.churned": "Customer left",
}


@dataclass
class Entry:
    """One line of the timeline."""

    at: dt.datetime
    kind: str
    title: str
    detail: str = ""
    extra: dict = field(default_factory=dict)
    # Free text written by or about the customer (complaints, NPS comments, call notes): shown only to
    # viewers the access policy lets read it (retention/staff/policy.py).
    private: str = ""


def _event_detail(event: InboundEvent) -> tuple[str, str]:
    """(detail, private text) of one event."""
    data = event.data or {}
    if event.type == "sale.completed":
        return f"{data.get('product')} · {data.get('amount')} {data.get('currency')}", ""
    if event.type == "nps.response":
        return f"score {data.get('score')}", data.get("comment") or ""
    if event.type == "complaint.opened":
        return f"{data.get('category')} via {data.get('channel')}", data.get("summary") or ""
    if event.type in ("sale.refunded", "customer.churned"):
        return data.get("reason") or "", ""
    if event.type == "complaint.resolved":
        return "", data.get("resolution") or ""
    return "", ""


def inbound_events(session: Session, customer: Customer, limit: int) -> list[Entry]:
    """The events the shop, CRM and helpdesk sent about this customer."""
    rows = session.scalars(select(InboundEvent).where(InboundEvent.customer_ref == customer.external_id)
                           .order_by(InboundEvent.occurred_at.desc()).limit(limit))
    return [Entry(at=e.occurred_at, kind="event:" + e.type, title=EVENT_TITLES.get(e.type, e.type),
                  detail=detail, private=private, extra={"status": e.status})
            for e in rows for detail, private in [_event_detail(e)]]


def call_attempts(session: Session, customer: Customer, limit: int) -> list[Entry]:
    """Calls made to the customer and their outcomes."""
    from retention.calls.models import CallAttempt

    rows = session.scalars(select(CallAttempt).where(CallAttempt.customer_id == customer.id)
                           .options(joinedload(CallAttempt.staff))
                           .order_by(CallAttempt.at.desc()).limit(limit))
    return [Entry(at=a.at, kind="call", title=f"Call: {a.outcome.replace('_', ' ')}",
                  detail=" · ".join(x for x in (a.sentiment, a.staff.display_name if a.staff else "") if x),
                  private=a.notes or "")
            for a in rows]


def handed_touchpoints(session: Session, customer: Customer, limit: int) -> list[Entry]:
    """Journey steps handed out, skipped or cancelled (calls show as call attempts)."""
    from retention.journeys.models import CANCELLED, HANDED, SKIPPED, Touchpoint

    rows = session.scalars(select(Touchpoint).where(Touchpoint.customer_id == customer.id,
                                                    Touchpoint.status.in_((HANDED, SKIPPED, CANCELLED)))
                           .options(joinedload(Touchpoint.step))
                           .order_by(Touchpoint.due_at.desc()).limit(limit))
    entries = []
    for tp in rows:
        at = tp.handed_at or tp.completed_at or tp.due_at
        verb = {"handed": "", "skipped": " skipped", "cancelled": " cancelled"}[tp.status]
        entries.append(Entry(at=at, kind=f"touchpoint:{tp.kind}", title=f"{tp.step.title}{verb}",
                             detail=tp.reason or ""))
    return entries


def letters(session: Session, customer: Customer, limit: int) -> list[Entry]:
    """Letters queued, printed, mailed or returned."""
    from retention.postal.models import Letter

    entries = []
    for letter in session.scalars(select(Letter).where(Letter.customer_id == customer.id)
                                  .order_by(Letter.created_at.desc()).limit(limit)):
        at = letter.returned_at or letter.mailed_at or letter.printed_at or letter.created_at
        entries.append(Entry(at=at, kind="letter", title=f"Letter {letter.template_key} ({letter.language}): "
                                                         f"{letter.status}",
                             detail=letter.error or "", extra={"letter_id": letter.id}))
    return entries


def journey_moves(session: Session, customer: Customer, limit: int) -> list[Entry]:
    """One entry per journey edit that moved the customer to a new version (see retention/journeys/timeline.py)."""
    from retention.journeys.timeline import journey_moves as source

    return source(session, customer, limit)


SOURCES = [inbound_events, call_attempts, handed_touchpoints, letters, journey_moves]


def timeline(session: Session, customer: Customer, limit: int = 200, access=None) -> list[Entry]:
    """Every source's entries for the customer, newest first, cut to what `access` sees (default: all)."""
    entries: list[Entry] = []
    for source in SOURCES:
        entries.extend(source(session, customer, limit))
    if access is not None:
        entries = [e for e in entries if access.sees_entry(e.kind)]
        if not access.private_text:
            for e in entries:
                e.private = ""
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]
