"""What each event type does: the one table from event type to the services that apply it."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from retention.customers import service as customers
from retention.customers.service import Lookups
from retention.hooks.models import PENDING, WAITING, InboundEvent


def _customer_upserted(lookups: Lookups, event: InboundEvent, now: dt.datetime) -> None:
    customers.upsert_customer(lookups, event.data["customer"], event.occurred_at, now)


def _sale_completed(lookups: Lookups, event: InboundEvent, now: dt.datetime) -> None:
    customers.record_sale(lookups, event.data, event.occurred_at, now)


def _needs_sale(lookups: Lookups, event: InboundEvent, now: dt.datetime) -> None:
    sale = customers.require_sale(lookups, event.data["sale_id"])
    if event.customer_ref is None:
        event.customer_ref = sale.customer.external_id  # so it shows on the customer's timeline


def _needs_customer(lookups: Lookups, event: InboundEvent, now: dt.datetime) -> None:
    customers.require_customer(lookups, event.data["customer_id"])


HANDLERS = {
    "customer.upserted": [_customer_upserted],
    "sale.completed": [_sale_completed],
    "sale.delivered": [_needs_sale],
    "sale.refunded": [_needs_sale],
    "complaint.opened": [_needs_customer],
    "complaint.resolved": [],
    "nps.response": [_needs_customer],
    "customer.churned": [_needs_customer],
}


def apply(lookups: Lookups, event: InboundEvent, now: dt.datetime) -> None:
    """Apply one event's effects in order; raises Waiting when it refers to something unknown."""
    for handler in HANDLERS[event.type]:
        handler(lookups, event, now)


def release_waiting(session: Session, lookups: Lookups, now: dt.datetime) -> int:
    """Put back in line the events that were waiting for customers or sales now known."""
    customer_refs = [ref for ref, c in lookups.customers.items() if c is not None]
    sale_refs = [ref for ref, s in lookups.sales.items() if s is not None]
    if not customer_refs and not sale_refs:
        return 0
    session.flush()
    conditions = []
    if customer_refs:
        conditions.append(InboundEvent.customer_ref.in_(customer_refs))
    if sale_refs:
        conditions.append(InboundEvent.sale_ref.in_(sale_refs))
    result = session.execute(
        update(InboundEvent).where(InboundEvent.status == WAITING, or_(*conditions))
        .values(status=PENDING, next_attempt_at=None).execution_options(synchronize_session=False))
    return result.rowcount or 0
