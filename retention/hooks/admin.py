"""The admin's view of the inbox: failed and waiting events, and replaying them."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from retention.audit.service import actor_of
from retention.extensions import db
from retention.hooks import service
from retention.hooks.models import InboundEvent
from retention.queue import get_queue
from retention.staff.access import roles_required
from retention import clock

blueprint = Blueprint("events_admin", __name__, url_prefix="/admin/events")

STATUSES = ("failed", "waiting", "pending", "processing", "processed")


@blueprint.route("/")
@roles_required("admin")
def index():
    """Inbound events by status, newest first; failed ones show their error."""
    status = request.args.get("status", "failed")
    if status not in STATUSES:
        abort(400, description="status: unknown status")
    events = db.session.scalars(select(InboundEvent).where(InboundEvent.status == status)
                                .order_by(InboundEvent.received_at.desc()).limit(200)).all()
    return render_template("admin/events.html", events=events, status=status,
                           counts=service.counts_by_status(db.session), statuses=STATUSES)


@blueprint.route("/<int:event_id>/replay", methods=["POST"])
@roles_required("admin")
def replay(event_id: int):
    """Put a failed or waiting event back in line and queue processing (after the commit)."""
    now = clock.now()
    event = service.replay(db.session, event_id, now, actor=actor_of(current_user))
    if event is None:
        abort(404, description="event: no failed or waiting event with this id")
    db.session.commit()
    service.nudge(get_queue())
    flash(f"Event {event_id} queued again.")
    return redirect(url_for("events_admin.index", status=request.form.get("back", "failed")))
