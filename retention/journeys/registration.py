"""What journeys plug into the layers below: event handlers, the batch planner, timeline sources, the customer page."""
from __future__ import annotations

import datetime as dt

from retention.customers import timeline as customer_timeline
from retention.customers import views as customer_pages
from retention.hooks import processing
from retention.hooks.models import InboundEvent
from retention.journeys import planning
from retention.journeys.cover import covered_calls
from retention.journeys.plan import plan_of
from retention.journeys.timeline import handed_touchpoints, journey_moves
from retention.journeys.owners import owner_assignments


def _planner(batch: processing.Batch) -> planning.Planner:
    return batch.part("planner")


def _enroll(batch: processing.Batch, event: InboundEvent, now: dt.datetime) -> None:
    sale = batch.found.get("new_sale")
    if sale is not None:  # a sale seen before does not enroll again
        planning.enroll_on_sale(_planner(batch), sale, now)


def _reanchor(batch: processing.Batch, event: InboundEvent, now: dt.datetime) -> None:
    delivered_at = dt.datetime.fromisoformat(event.data["delivered_at"]).astimezone(dt.timezone.utc)
    planning.reanchor_on_delivery(batch.session, batch.found["sale"], delivered_at, now)


def _exit_on_refund(batch: processing.Batch, event: InboundEvent, now: dt.datetime) -> None:
    planning.exit_journeys(batch.session, event_type="sale.refunded", sale=batch.found["sale"], now=now,
                           reason=event.data.get("reason") or "")


def _exit_on_churn(batch: processing.Batch, event: InboundEvent, now: dt.datetime) -> None:
    planning.exit_journeys(batch.session, event_type="customer.churned", customer=batch.found["customer"], now=now,
                           reason=event.data.get("reason") or "")


def register() -> None:
    processing.register_batch_part("planner", lambda session: planning.Planner(session, bulk=True))
    processing.register_bulk_table("enrollments")
    processing.on("sale.completed", _enroll)
    processing.on("sale.delivered", _reanchor)
    processing.on("sale.refunded", _exit_on_refund)
    processing.on("customer.churned", _exit_on_churn)
    customer_timeline.register_source(handed_touchpoints)
    customer_timeline.register_source(journey_moves)
    customer_timeline.register_source(owner_assignments)
    customer_timeline.register_source(covered_calls)  # "covers a call for ..., who is away" (staff absences)
    customer_pages.register_page_part("enrollments", "plan", plan_of, default=[])  # the plan, in words
