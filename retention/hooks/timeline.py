"""Timeline entries from the inbox: the events the shop, CRM and helpdesk sent about the customer."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from retention.customers.models import Customer
from retention.customers.timeline import Entry
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
