"""Pages for onboarding staff: My calls, logging outcomes, snooze, reschedule, reassign."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from retention.audit.service import actor_of
from retention.calls import service
from retention.calls.models import OUTCOMES, SENTIMENTS
from retention.extensions import db
from retention.journeys import calendar
from retention.request_input import int_arg
from retention.staff import policy
from retention.staff.access import roles_required
from retention.staff.redirects import safe_next
from retention.staff.models import StaffUser
from retention import clock

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
        owner = db.session.get(StaffUser, int_arg(request.args, "owner")) or abort(404)
    groups = service.my_calls(db.session, owner, clock.now())
    return render_template("calls/my_calls.html", groups=groups, owner=owner, outcomes=OUTCOMES,
                           sentiments=SENTIMENTS, staff=_onboarding_staff(),
                           zone=calendar.time_zone(owner.timezone))


def _parse_local(text: str, zone: str, field: str) -> dt.datetime:
    """A datetime-local form value read in the staff member's own zone (its range is the service's rule)."""
    text = (text or "").strip()
    try:
        if not text.isascii() or len(text) > 40:
            raise ValueError(text)
        value = dt.datetime.fromisoformat(text)
        if value.tzinfo is None:
            value = value.replace(tzinfo=calendar.time_zone(zone))
        return value.astimezone(dt.timezone.utc)
    except (TypeError, ValueError, OverflowError):
        raise service.CallError(f"{field}: not a date and time (e.g. 2026-03-04T10:30)") from None


@blueprint.route("/<int:touchpoint_id>/outcome", methods=["POST"])
@roles_required("onboarding")
def log_outcome(touchpoint_id: int):
    """Record what came of a call (its owner, or an admin on the owner's behalf: staff/policy.py)."""
    now = clock.now()
    form = request.form
    _check_call_action(touchpoint_id)
    try:
        call_back_at = (_parse_local(form["call_back_at"], current_user.timezone, "call_back_at")
                        if form.get("call_back_at") else None)
        tp = service.log_outcome(db.session, touchpoint_id, staff=current_user, outcome=form.get("outcome", ""),
                                 now=now, notes=form.get("notes", "").strip(), sentiment=form.get("sentiment") or None,
                                 call_back_at=call_back_at, actor=actor_of(current_user))
    except service.CallError as exc:
        db.session.rollback()
        flash(str(exc))
        return redirect(url_for("calls.my_calls")), 303
    db.session.commit()
    flash(f"Saved: {tp.outcome.replace('_', ' ')} for {tp.customer.name}.")
    return redirect(safe_next(request.form.get("next"), url_for("calls.my_calls")))


def _whole(text: str | None) -> int:
    """A whole number from a form (ASCII digits), or 0 when it is not one (the service names the field)."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else 0


def _check_call_action(touchpoint_id: int) -> str | None:
    """403 unless the signed-in person may work this call; the owner's email when an admin acts for them."""
    try:
        return service.check_call_action(db.session, current_user, touchpoint_id)
    except policy.NotYourCall as exc:
        abort(403, description=str(exc))


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
    _check_call_action(touchpoint_id)
    return _apply(lambda: service.snooze(db.session, touchpoint_id, hours=_whole(request.form.get("hours")),
                                         now=clock.now(), actor=actor_of(current_user)))


@blueprint.route("/<int:touchpoint_id>/reschedule", methods=["POST"])
@roles_required("onboarding")
def reschedule(touchpoint_id: int):
    """Move a call to a chosen time (in the staff member's zone)."""
    _check_call_action(touchpoint_id)
    return _apply(lambda: service.reschedule(
        db.session, touchpoint_id, due_at=_parse_local(request.form.get("due_at", ""), current_user.timezone, "due_at"),
        now=clock.now(), actor=actor_of(current_user)))


@blueprint.route("/reassign", methods=["POST"])
@roles_required("onboarding")
def reassign():
    """Hand one or many calls (and their customers) to a colleague."""
    raw = request.form.getlist("touchpoint_id")
    ids = [int(i) for i in raw[:service.MAX_REASSIGN + 1] if i.isascii() and i.isdigit() and len(i) <= 10]
    try:
        if len(ids) != len(raw[:service.MAX_REASSIGN + 1]):
            raise service.CallError("touchpoint_id: must be call ids")
        n = service.reassign(db.session, ids, owner_id=_whole(request.form.get("owner_id")),
                             actor=actor_of(current_user), now=clock.now())
    except service.CallError as exc:
        db.session.rollback()
        flash(str(exc))
        return redirect(url_for("calls.my_calls")), 303
    db.session.commit()
    flash(f"Reassigned {n} call(s).")
    return redirect(url_for("calls.my_calls"))
