"""The admin's view of the inbox: events by status, each with its customer and its payload, and replaying them."""
from __future__ import annotations

import json

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from retention.audit.service import actor_of
from retention.customers.models import Customer, Sale
from retention.extensions import db
from retention.hooks import service
from retention.hooks.models import FAILED, PENDING, PROCESSED, WAITING, InboundEvent
from retention.queue import get_queue
from retention.staff.access import roles_required
from retention import clock

blueprint = Blueprint("events_admin", __name__, url_prefix="/admin/events")

PROCESSING = service.PROCESSING
STATUSES = (FAILED, WAITING, PENDING, PROCESSING, PROCESSED)
# The tabs as the page names them (statuses are machine keys).
STATUS_LABELS = {FAILED: _l("Failed"), WAITING: _l("Waiting"), PENDING: _l("Pending"), PROCESSING: _l("Processing"),
                 PROCESSED: _l("Processed")}
# What each tab holds, said once above its list.
STATUS_HINTS = {
    FAILED: _l("Applying these raised an error; they are retried with a growing wait, then left here for you."),
    WAITING: _l("These name a customer or sale not known yet; they apply when it arrives."),
    PENDING: _l("Received and about to be applied."),
    PROCESSING: _l("Being applied right now."),
    PROCESSED: _l("Applied."),
}
PAGE_SIZE = 200


def opening_tab(counts: dict[str, int]) -> str:
    """The tab the page opens on: the first that needs attention and has something in it, else processed."""
    for status in (FAILED, WAITING, PENDING, PROCESSING):
        if counts.get(status):
            return status
    return PROCESSED


def _customer_refs(events) -> dict[int, str]:
    """event id -> the customer's id (from the event, or through its sale), for customers we know; one query."""
    refs = {e.id: e.customer_ref for e in events if e.customer_ref}
    by_sale = {e.id: e.sale_ref for e in events if not e.customer_ref and e.sale_ref}
    if by_sale:
        owners = dict(db.session.execute(select(Sale.external_id, Customer.external_id)
                                         .join(Customer, Customer.id == Sale.customer_id)
                                         .where(Sale.external_id.in_(set(by_sale.values())))).all())
        refs.update({eid: owners[ref] for eid, ref in by_sale.items() if ref in owners})
    if refs:
        known = set(db.session.scalars(select(Customer.external_id).where(Customer.external_id.in_(set(refs.values())))))
        refs = {eid: ref for eid, ref in refs.items() if ref in known}
    return refs


@blueprint.route("/")
@roles_required("admin")
def index():
    """Inbound events by status, newest first; opens on the tab with something to look at."""
    counts = service.counts_by_status(db.session)
    status = request.args.get("status") or opening_tab(counts)
    if status not in STATUSES:
        abort(400, description=_("Unknown status: choose one of the tabs."))
    events = db.session.scalars(select(InboundEvent).where(InboundEvent.status == status)
                                .order_by(InboundEvent.received_at.desc(), InboundEvent.id.desc())
                                .limit(PAGE_SIZE)).all()
    return render_template("admin/events.html", events=events, status=status, counts=counts, statuses=STATUSES,
                           labels=STATUS_LABELS, hint=STATUS_HINTS[status], customers=_customer_refs(events),
                           page_size=PAGE_SIZE, type_labels=_type_labels())


def _type_labels() -> dict:
    from retention.hooks.timeline import EVENT_TITLES

    return EVENT_TITLES


@blueprint.route("/<int:event_id>")
@roles_required("admin")
def show(event_id: int):
    """One event: what was sent (the payload), its status, attempts, error and times."""
    event = db.session.get(InboundEvent, event_id)
    if event is None:
        abort(404, description=_("There is no event with this number."))
    payload = json.dumps(event.data, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    return render_template("admin/event.html", event=event, payload=payload, labels=STATUS_LABELS,
                           customer=_customer_refs([event]).get(event.id), type_labels=_type_labels())


@blueprint.route("/<int:event_id>/replay", methods=["POST"])
@roles_required("admin")
def replay(event_id: int):
    """Put a failed or waiting event back in line and queue processing (after the commit)."""
    now = clock.now()
    event = service.replay(db.session, event_id, now, actor=actor_of(current_user))
    if event is None:
        abort(404, description=_("There is no failed or waiting event with this number."))
    db.session.commit()
    service.nudge(get_queue())
    flash(_("Event %(id)s is queued to be applied again.", id=event_id))
    back = request.form.get("back", FAILED)
    if back == "event":
        return redirect(url_for("events_admin.show", event_id=event_id))
    return redirect(url_for("events_admin.index", status=back if back in STATUSES else FAILED))
