"""What each event type does: the one table from event type to the services that apply it."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from retention.complaints import service as complaints
from retention.customers import service as customers
from retention.customers.service import Lookups
from retention.hooks.models import PENDING, WAITING, InboundEvent
from retention.journeys import planning as journeys
from retention.surveys import service as surveys


@dataclass
class Batch:
    """What applying one batch of events shares: loaded customers and sales, journeys, owners."""

    session: Session
    lookups: Lookups = None
    planner: journeys.Planner = None
    complaints_opened: bool = False

    def __post_init__(self):
        self.lookups = Lookups(self.session)
        self.planner = journeys.Planner(self.session, bulk=True)

    def finish(self) -> None:
        self.planner.finish()

    def forget(self) -> None:
        self.lookups.forget()
        self.planner = journeys.Planner(self.session, bulk=True)


def _customer_upserted(batch: Batch, event: InboundEvent, now: dt.datetime) -> None:
    customers.upsert_customer(batch.lookups, event.data["customer"], event.occurred_at, now)


def _sale_completed(batch: Batch, event: InboundEvent, now: dt.datetime) -> None:
    sale, created = customers.record_sale(batch.lookups, event.data, event.occurred_at, now)
    if created:
        journeys.enroll_on_sale(batch.planner, sale, now)


def _sale_delivered(batch: Batch, event: InboundEvent, now: dt.datetime) -> None:
    sale = _sale_of(batch, event)
    delivered_at = dt.datetime.fromisoformat(event.data["delivered_at"]).astimezone(dt.timezone.utc)
    batch.planner.flush_touchpoints()  # the sale may have been enrolled earlier in this batch
    journeys.reanchor_on_delivery(batch.session, sale, delivered_at, now)


def _sale_refunded(batch: Batch, event: InboundEvent, now: dt.datetime) -> None:
    sale = _sale_of(batch, event)
    sale.refunded_at = sale.refunded_at or event.occurred_at
    sale.refund_reason = event.data.get("reason")
    batch.planner.flush_touchpoints()
    journeys.exit_journeys(batch.session, event_type="sale.refunded", sale=sale, now=now,
                           reason=event.data.get("reason") or "")


def _customer_churned(batch: Batch, event: InboundEvent, now: dt.datetime) -> None:
    customer = customers.require_customer(batch.lookups, event.data["customer_id"])
    customer.churned_at = customer.churned_at or event.occurred_at
    batch.planner.flush_touchpoints()
    journeys.exit_journeys(batch.session, event_type="customer.churned", customer=customer, now=now,
                           reason=event.data.get("reason") or "")


def _nps_response(batch: Batch, event: InboundEvent, now: dt.datetime) -> None:
    customer = customers.require_customer(batch.lookups, event.data["customer_id"])
    surveys.record_answer(batch.session, customer, event.data["score"], event.data.get("comment"),
                          event.occurred_at, source="event", event_id=event.id)


def _sale_of(batch: Batch, event: InboundEvent):
    sale = customers.require_sale(batch.lookups, event.data["sale_id"])
    if event.customer_ref is None:
        event.customer_ref = sale.customer.external_id  # so it shows on the customer's timeline
    return sale


def _complaint_opened(batch: Batch, event: InboundEvent, now: dt.datetime) -> None:
    customer = customers.require_customer(batch.lookups, event.data["customer_id"])
    complaints.open_case(batch.session, customer, event.data, event.occurred_at)
    batch.complaints_opened = True


def _complaint_resolved(batch: Batch, event: InboundEvent, now: dt.datetime) -> None:
    case = complaints.resolve_case(batch.session, event.data["complaint_id"], event.data["resolution"],
                                   event.occurred_at)
    if event.customer_ref is None:
        event.customer_ref = case.customer.external_id


HANDLERS = {
    "customer.upserted": [_customer_upserted],
    "sale.completed": [_sale_completed],
    "sale.delivered": [_sale_delivered],
    "sale.refunded": [_sale_refunded],
    "complaint.opened": [_complaint_opened],
    "complaint.resolved": [_complaint_resolved],
    "nps.response": [_nps_response],
    "customer.churned": [_customer_churned],
}


def apply(batch: Batch, event: InboundEvent, now: dt.datetime) -> None:
    """Apply one event's effects in order; raises Waiting when it refers to something unknown."""
    for handler in HANDLERS[event.type]:
        handler(batch, event, now)


def release_waiting(session: Session, batch: Batch, now: dt.datetime) -> int:
    """Put back in line the events that were waiting for customers or sales now known."""
    lookups = batch.lookups
    customer_refs = [ref for ref, c in lookups.customers.items() if c is not None]
    sale_refs = [ref for ref, s in lookups.sales.items() if s is not None]
    conditions = []
    if batch.complaints_opened:  # a resolution that arrived before its complaint
        conditions.append(InboundEvent.type == "complaint.resolved")
    if not customer_refs and not sale_refs and not conditions:
        return 0
    session.flush()
    if customer_refs:
        conditions.append(InboundEvent.customer_ref.in_(customer_refs))
    if sale_refs:
        conditions.append(InboundEvent.sale_ref.in_(sale_refs))
    result = session.execute(
        update(InboundEvent).where(InboundEvent.status == WAITING, or_(*conditions))
        .values(status=PENDING, next_attempt_at=None).execution_options(synchronize_session=False))
    return result.rowcount or 0
