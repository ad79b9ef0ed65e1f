"""Pages for onboarding staff: My calls, logging outcomes, snooze, reschedule, reassign."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from retention.audit.service import actor_of, record
from retention.calls import service
from retention.calls.models import OUTCOMES, SENTIMENTS
from retention.extensions import db
from retention.journeys import calendar
from retention.staff.access import roles_required
from retention.staff.models import StaffUser
from retention.types import utcnow

blueprint = Blueprint("calls", __name__, url_prefix="/calls")


def _onboarding_staff():
    return db.session.scalars(select(StaffUser).where(StaffUser.role == "onboarding", StaffUser.active.is_(True))
                              .order_by(StaffUser.name)).all()


@blueprint.route("/")
@roles_required("onboarding")
def my_calls():
    """Today's calls, overdue ones and the week ahead, each with its context card."""
    owner = current_user
    if current_user.role == "admin" and request.args.get("owner"):
        owner = db.session.get(StaffUser, request.args.get("owner", type=int)) or abort(404)
    groups = service.my_calls(db.session, owner, utcnow())
    return render_template("calls/my_calls.html", groups=groups, owner=owner, outcomes=OUTCOMES,
                           sentiments=SENTIMENTS, staff=_onboarding_staff(),
                           zone=calendar._zone(owner.timezone or "UTC"))


def _parse_local(text: str, zone: str) -> dt.datetime:
    """A datetime-local form value read in the staff member's own zone."""
    try:
        value = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise service.CallError("when: not a date and time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=calendar._zone(zone or "UTC"))
    return value.astimezone(dt.timezone.utc)


@blueprint.route("/<int:touchpoint_id>/outcome", methods=["POST"])
@roles_required("onboarding")
def log_outcome(touchpoint_id: int):
    """Record what came of a call."""
    now = utcnow()
    form = request.form
    try:
        call_back_at = _parse_local(form["call_back_at"], current_user.timezone) if form.get("call_back_at") else None
        tp = service.log_outcome(db.session, touchpoint_id, staff=current_user, outcome=form.get("outcome", ""),
                                 now=now, notes=form.get("notes", "").strip(), sentiment=form.get("sentiment") or None,
                                 call_back_at=call_back_at)
    except service.CallError as exc:
        db.session.rollback()
        flash(str(exc))
        return redirect(url_for("calls.my_calls")), 303
    record(db.session, actor=actor_of(current_user), action="call.outcome", entity_type="touchpoint",
           entity_id=tp.id, now=now, changes={"outcome": tp.outcome})
    db.session.commit()
    flash(f"Saved: {tp.outcome.replace('_', ' ')} for {tp.customer.name}.")
    return redirect(request.form.get("next") or url_for("calls.my_calls"))


def _apply(change) -> tuple:
    """Run one call change: committed, or rolled back with its message shown on My calls (303)."""
    try:
        change()
    except service.CallError as exc:
        db.session.rollback()
        flash(str(exc))
        return redirect(url_for("calls.my_calls")), 303
    db.session.commit()
    return redirect(url_for("calls.my_calls")), 302


@blueprint.route("/<int:touchpoint_id>/snooze", methods=["POST"])
@roles_required("onboarding")
def snooze(touchpoint_id: int):
    """Put a call off by a few hours."""
    return _apply(lambda: service.snooze(db.session, touchpoint_id, hours=request.form.get("hours", type=int) or 0,
                                         now=utcnow()))


@blueprint.route("/<int:touchpoint_id>/reschedule", methods=["POST"])
@roles_required("onboarding")
def reschedule(touchpoint_id: int):
    """Move a call to a chosen time (in the staff member's zone)."""
    return _apply(lambda: service.reschedule(
        db.session, touchpoint_id, due_at=_parse_local(request.form.get("due_at", ""), current_user.timezone),
        now=utcnow()))


@blueprint.route("/reassign", methods=["POST"])
@roles_required("onboarding")
def reassign():
    """Hand one or many calls (and their customers) to a colleague."""
    ids = [int(i) for i in request.form.getlist("touchpoint_id") if i.isdigit()]
    try:
        n = service.reassign(db.session, ids, owner_id=request.form.get("owner_id", type=int) or 0)
    except service.CallError as exc:
        db.session.rollback()
        flash(str(exc))
        return redirect(url_for("calls.my_calls")), 303
    record(db.session, actor=actor_of(current_user), action="call.reassigned", entity_type="touchpoint",
           entity_id=",".join(map(str, ids)), now=utcnow(), changes={"owner_id": request.form.get("owner_id")})
    db.session.commit()
    flash(f"Reassigned {n} call(s).")
    return redirect(url_for("calls.my_calls"))
