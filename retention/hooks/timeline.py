"""Timeline entries from the inbox: the events the shop, CRM and helpdesk sent about the customer."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from retention import i18n
from retention.customers.models import Customer
from retention.customers.timeline import Entry
from retention.hooks.models import InboundEvent

EVENT_TITLES = {
    "customer.upserted": _l("Customer details received"),
    "sale.completed": _l("Sale completed"),
    "sale.delivered": _l("Delivered"),
    "sale.refunded": _l("Refunded"),
    "complaint.opened": _l("Complaint opened"),
    "complaint.resolved": _l("Complaint resolved"),
    "nps.response": _l("NPS answer"),
    "customer.churned": _l("Customer left"),
}
CHANNEL_LABELS = {"phone": _l("by phone"), "email": _l("by email"), "social": _l("on social media"),
                  "letter": _l("by letter"), "in_person": _l("in person"), "chat": _l("by chat")}


def _money(amount, currency) -> str:
    try:
        return i18n.money(Decimal(str(amount)), str(currency))
    except (InvalidOperation, ValueError, TypeError, LookupError):
        return f"{amount} {currency}"


def _event_detail(event: InboundEvent) -> tuple[list[str], str]:
    """(detail pieces, private text) of one event, in the reader's words; names and products stay as sent."""
    data = event.data or {}
    if event.type == "sale.completed":
        return [x for x in (data.get("product"), _money(data.get("amount"), data.get("currency"))) if x], ""
    if event.type == "nps.response":
        score = data.get("score")
        return [i18n.digits(_("Score %(score)s of 10", score=score))], \
            data.get("comment") or ""
    if event.type == "complaint.opened":
        channel = data.get("channel")
        return [x for x in (data.get("category"), str(CHANNEL_LABELS.get(channel, channel or ""))) if x], \
            data.get("summary") or ""
    if event.type in ("sale.refunded", "customer.churned"):
        return [data["reason"]] if data.get("reason") else [], ""
    if event.type == "complaint.resolved":
        return [], data.get("resolution") or ""
    return [], ""


def inbound_events(session: Session, customer: Customer, limit: int) -> list[Entry]:
    """The events the shop, CRM and helpdesk sent about this customer."""
    rows = session.scalars(select(InboundEvent).where(InboundEvent.customer_ref == customer.external_id)
                           .order_by(InboundEvent.occurred_at.desc()).limit(limit))
    return [Entry(at=e.occurred_at, kind="event:" + e.type, title=str(EVENT_TITLES.get(e.type, e.type)),
                  detail=detail, private=private, extra={"status": e.status})
            for e in rows for detail, private in [_event_detail(e)]]
