"""Complaint pages of step 3 and step 5: the queue (what is due first, breaches, take-over, notices), the trends
page, the case page's targets part (`complaint_sla`) and the block My calls shows first (`attention_block`).

Times are shown on the reader's clock with the business time left on the owner's calendar; a refused action
comes back as the queue with the message in the reader's language (404/409/422 by the error's class).
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_translations, gettext as _, lazy_gettext as _l
from flask_login import current_user

from retention import clock, i18n
from retention.audit.service import actor_of
from retention.complaints import categories, escalation, service, sla, trends
from retention.complaints.labels import SEVERITY_LABELS, STATUS_LABELS, label
from retention.complaints.models import Complaint
from retention.errors import http_status
from retention.extensions import db
from retention.staff import absences
from retention.staff.access import roles_required

blueprint = Blueprint("complaint_reports", __name__, url_prefix="/complaints")

TARGET_LABELS = {sla.FIRST_RESPONSE: _l("First response"), sla.RESOLUTION: _l("Solution")}
WHO = ("mine", "all")


def _plural(singular: str, plural: str, number: int) -> str:
    """The plural form for `number`, with the number in the reader's digits (ngettext would put Latin ones)."""
    return get_translations().ungettext(singular, plural, number) % {"num": i18n.number(number)}


def duration(delta: dt.timedelta) -> str:
    """A length of business time in the reader's words and digits: "3 hours and 20 minutes"."""
    minutes = max(0, int(abs(delta).total_seconds() // 60))
    hours, rest = divmod(minutes, 60)
    said_minutes = _plural("%(num)s minute", "%(num)s minutes", rest)
    if not hours:
        return said_minutes
    said_hours = _plural("%(num)s hour", "%(num)s hours", hours)
    return _("%(hours)s and %(minutes)s", hours=said_hours, minutes=said_minutes) if rest else said_hours


def left_words(item: sla.QueueItem) -> str:
    """"2 hours left" / "overdue by 3 hours" (business time, the owner's calendar); "" without a target."""
    if item.left is None:
        return ""
    if item.breached:
        return _("overdue by %(time)s", time=duration(item.left))
    return _("%(time)s left", time=duration(item.left))


def _state(item: sla.QueueItem) -> str:
    return "breached" if item.breached else "near" if item.near else "none" if item.target is None else "ok"


def row(item: sla.QueueItem, names: dict, viewer) -> dict:
    """One queue line as the page and My calls show it."""
    case = item.case
    return {"case": case, "customer": case.customer, "category": names.get(case.category, case.category),
            "severity": label(SEVERITY_LABELS, case.severity), "status": label(STATUS_LABELS, case.status),
            "owner": case.owner, "target": label(TARGET_LABELS, item.target), "due": item.due_at,
            "left": left_words(item), "state": _state(item), "escalated": item.escalated,
            "can_take_over": item.breached and viewer is not None and case.owner_id != viewer.id}


def _names() -> dict:
    language = i18n.ui_language()
    return {c.key: categories.name_of(c, language) for c in categories.all_categories(db.session)}


def _notice_rows(staff_id: int) -> list[dict]:
    return [{"notice": n, "case": n.case, "target": label(TARGET_LABELS, n.target)}
            for n in escalation.unseen_notices(db.session, staff_id)]


def attention_block(owner, now: dt.datetime) -> dict:
    """What My calls shows first: the owner's cases past or near a target, and their unseen notices."""
    names = _names()
    return {"cases": [row(item, names, owner) for item in sla.attention(db.session, owner.id, now)],
            "notices": _notice_rows(owner.id)}


@blueprint.app_template_global("complaint_sla")
def complaint_sla(case: Complaint) -> dict:
    """The case page's targets part: each target with its due time, whether met, and the take-over button."""
    now = clock.now()
    rules = sla.policy()
    item = sla.item_for(case, now, rules)
    targets = [{"target": label(TARGET_LABELS, sla.FIRST_RESPONSE), "due": case.first_response_due_at,
                "met": case.first_response_at},
               {"target": label(TARGET_LABELS, sla.RESOLUTION), "due": case.resolution_due_at,
                "met": case.resolved_at if case.status not in sla.SOLVING else None}]
    return {"targets": targets, "item": row(item, {}, current_user if current_user.is_authenticated else None),
            "zone": sla.calendar_for(case.owner, rules).tz}


def _queue_page(*, status: int = 200, alert: str = ""):
    now = clock.now()
    who = request.args.get("who") or "all"  # the team's queue; "mine" narrows it (My calls shows one's own first)
    if who not in WHO:
        abort(400, description=_("Whose cases (who): choose one from the list."))
    items = sla.queue(db.session, now, owner_id=current_user.id if who == "mine" else None)
    names = _names()
    threshold = current_app.config["COMPLAINT_TREND_THRESHOLD"]
    # Owners away today (their own calendar): their SLA escalation tells the admins; the queue says so too.
    away = absences.away_now(db.session, {item.case.owner_id: item.case.owner for item in items}.values(), now)
    return render_template(
        "complaints/queue.html", rows=[{**row(item, names, current_user), "owner_away": item.case.owner_id in away}
                                       for item in items], who=who, now=now,
        notices=_notice_rows(current_user.id), alerts=trends.alerts(db.session, now, threshold), names=names,
        threshold=threshold, alert=alert), status


@blueprint.route("/queue")
@roles_required("onboarding")
def queue():
    """Open cases whose solution is owed, what is due first first; breaches marked; mine or all."""
    return _queue_page()


def _back():
    who = request.form.get("who")
    return redirect(url_for(".queue", **({"who": who} if who in WHO else {})), code=303)


@blueprint.route("/<int:case_id>/take-over", methods=["POST"])
@roles_required("onboarding")
def take_over(case_id: int):
    """The signed-in person takes over a case that missed a target (audited; its targets restart for them)."""
    try:
        case = service.get_case(db.session, case_id, for_update=True)
        escalation.take_over(db.session, case, current_user, now=clock.now(), actor=actor_of(current_user))
    except service.ComplaintError as exc:
        db.session.rollback()
        return _queue_page(status=http_status(exc), alert=exc.translated())
    db.session.commit()
    flash(_("You took over complaint case %(id)s.", id=i18n.digits(case_id)))
    if request.form.get("back") == "case" and "complaints.show" in current_app.view_functions:
        return redirect(url_for("complaints.show", case_id=case_id), code=303)
    return _back()


@blueprint.route("/notices/<int:notice_id>/seen", methods=["POST"])
@roles_required("onboarding")
def notice_seen(notice_id: int):
    """Mark one of your own notices seen."""
    try:
        escalation.mark_seen(db.session, notice_id, current_user.id, clock.now())
    except service.ComplaintError as exc:
        db.session.rollback()
        return _queue_page(status=http_status(exc), alert=exc.translated())
    db.session.commit()
    if request.form.get("back") == "calls" and "calls.my_calls" in current_app.view_functions:
        # Back to the list as it was shown (how many upcoming calls, whose list): My calls checks the values.
        view = {k: v for k in ("upcoming", "owner") if (v := request.form.get(k) or "").isdigit() and len(v) <= 9}
        return redirect(url_for("calls.my_calls", **view), code=303)
    return _back()


@blueprint.route("/trends")
@roles_required("onboarding", "marketing")
def trends_page():
    """Complaints per category per week, the same-category alert, and response and solution times per month."""
    now = clock.now()
    threshold = current_app.config["COMPLAINT_TREND_THRESHOLD"]
    return render_template("complaints/trends.html", figures=trends.figures(db.session, now, threshold),
                           names=_names(), now=now)
