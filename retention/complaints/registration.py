"""What complaints plug into the layers below: the open_complaint fact, the gate it closes, the helpdesk events."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from retention.complaints import resolution, service, sla, timeline, types, views
from retention.customers import timeline as customer_timeline
from retention.customers import views as customer_pages
from retention.hooks import processing
from retention.hooks.models import InboundEvent
from retention.journeys import registry

# Surveys and referral offers wait while a complaint is open (asked again a day later).
GATE = registry.Gate(kinds=("nps_survey", "referral_offer"), fact="open_complaint",
                     reason="waiting: a complaint is open", retry=dt.timedelta(hours=24))


def open_complaint_facts(session: Session, customer_ids: set[int]) -> dict[int, dict]:
    return {cid: {"open_complaint": True} for cid in service.customers_with_open_complaints(session, customer_ids)}


def _complaint_opened(batch: processing.Batch, event: InboundEvent, now: dt.datetime) -> None:
    customer = processing.require_customer(batch, event.data["customer_id"])
    data = event.data
    service.open_case(batch.session, customer, channel=data["channel"], category=data["category"],
                      summary=data["summary"], severity=data.get("severity") or "medium",
                      public_url=data.get("public_url"), external_id=data["complaint_id"], source="event",
                      actor=f"event:{event.id}", now=now, opened_at=event.occurred_at)
    batch.release_types.add("complaint.resolved")  # a resolution that arrived before its complaint


def _complaint_resolved(batch: processing.Batch, event: InboundEvent, now: dt.datetime) -> None:
    case = service.resolve_case(batch.session, event.data["complaint_id"], event.data["resolution"],
                                event.occurred_at)
    if event.customer_ref is None:
        event.customer_ref = case.customer.external_id


OPEN_COMPLAINT = registry.Facts(open_complaint_facts, defaults={"open_complaint": False})


def register() -> None:
    sla.register()  # targets on open, first response, re-targets on reopen and owner change (ON_* hooks)
    resolution.register()  # first: its gate's reason (a solution being verified) is the more precise one
    registry.register_facts(OPEN_COMPLAINT)
    registry.register_gate(GATE)
    processing.on("complaint.opened", _complaint_opened)
    _register_cases()
    processing.on("complaint.resolved", _complaint_resolved)


# The customer type (step 2) as the `customer_type` condition fact; customers without one read null.
CUSTOMER_TYPE = registry.Facts(types.customer_type_facts, defaults={"customer_type": None})


def _register_cases() -> None:
    """Case changes and customer types on the timeline, the type fact, the customer page's complaints part."""
    registry.register_facts(CUSTOMER_TYPE)
    customer_timeline.register_source(timeline.case_changes)
    customer_timeline.register_source(types.type_changes)
    # Seen by whoever sees the plan (onboarding, marketing, admin); summaries are private text, forms onboarding.
    customer_pages.register_page_part("complaints_part", "plan", views.customer_part, default=None)
