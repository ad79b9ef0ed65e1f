"""Pages of step 4: the case page's "Solution and verification" part (templates/complaints/_resolution.html, forms
for the solution, the verification call, the apology letter and concessions), admins' list of concessions waiting
for a decision, and each person's concession limits on the staff page.

A refused form shows the case page again (complaints/views.py) with the message next to the field and what was
typed kept; nothing changed.
"""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user

from retention import clock, i18n
from retention.audit.service import actor_of
from retention.complaints import concessions, resolution, service
from retention.complaints import views as case_views
from retention.complaints.models import (
    ACKNOWLEDGED, CONCESSION_KINDS, INVESTIGATING, NEW, SOLUTION_OFFERED, Complaint, Concession)
from retention.errors import N_, http_status
from retention.extensions import db
from retention.journeys import wording
from retention.journeys.models import Touchpoint
from retention.staff.access import roles_required
from retention.staff.models import StaffUser

blueprint = Blueprint("complaint_resolution", __name__, url_prefix="/complaints")

KIND_LABELS = {"credit": _l("Credit"), "refund": _l("Refund"), "replacement": _l("Replacement")}
CONCESSION_STATUS_LABELS = {"pending": _l("Waiting for an admin"), "approved": _l("Approved"),
                            "rejected": _l("Rejected")}
SOLVABLE = (NEW, ACKNOWLEDGED, INVESTIGATING)


def _concession_row(row: Concession) -> dict:
    return {"row": row, "kind": wording.label(KIND_LABELS, row.kind),
            "amount": i18n.money(row.amount, row.currency),
            "status": wording.label(CONCESSION_STATUS_LABELS, row.status),
            "requested_by": row.requested_by.display_name if row.requested_by else "",
            "decided_by": row.decided_by.display_name if row.decided_by else ""}


@blueprint.app_template_global("resolution_part")
def resolution_part(case: Complaint) -> dict:
    """What the case page's solution part shows: the solution, the verification call, apology letters, concessions."""
    call = db.session.get(Touchpoint, case.verification_touchpoint_id) if case.verification_touchpoint_id else None
    pending = call is not None and call.status in ("open", "scheduled")
    currency = case.sale.currency if case.sale is not None else None
    limit = concessions.limit_of(current_user, currency) if currency else Decimal(0)
    return {
        "can_solve": case.status in SOLVABLE,
        "call": call, "call_pending": pending,
        "call_words": wording.reason_words(call.reason, when=i18n.when, number=i18n.number) if call and call.reason else "",
        "call_status": wording.label(wording.TOUCHPOINT_STATUS_LABELS, call.status) if call else "",
        # A solution offered whose call ended without reaching the customer (or was never opened): ask again.
        "can_schedule": case.status == SOLUTION_OFFERED and not pending,
        "apologies": resolution.apology_letters(db.session, case),
        "concessions": [_concession_row(c) for c in case.concessions],
        "kinds": [(k, wording.label(KIND_LABELS, k)) for k in CONCESSION_KINDS],
        "currency": currency, "is_open": case.is_open,
        "my_limit": (i18n.money(limit, currency) if currency and current_user.role != "admin" else ""),
        "is_admin": current_user.role == "admin",
    }


def _locked(case_id: int) -> Complaint:
    try:
        return service.get_case(db.session, case_id, for_update=True)
    except service.CaseNotFound:
        abort(404, description=_("No such complaint case."))


def _back(case: Complaint, message: str, anchor: str = "resolution"):
    flash(message)
    return redirect(url_for("complaints.show", case_id=case.id) + f"#{anchor}", 303)


@blueprint.route("/<int:case_id>/solution", methods=["POST"])
@roles_required("onboarding")
def solution(case_id: int):
    """Record the solution offered; its verification call is scheduled for the case owner."""
    case = _locked(case_id)
    try:
        resolution.record_solution(db.session, case, request.form.get("resolution", ""), now=clock.now(),
                                   actor=actor_of(current_user))
    except service.ComplaintError as exc:
        return case_views._refused(case_id, exc, "solution")
    db.session.commit()
    call = resolution.pending_verification(db.session, case)
    if call is None:
        return _back(case, _("Solution recorded. No verification call could be scheduled: see the case's history."))
    return _back(case, _("Solution recorded. %(owner)s will call the customer on %(when)s to check it held.",
                         owner=call.owner.display_name, when=i18n.when(call.due_at)))


@blueprint.route("/<int:case_id>/verification", methods=["POST"])
@roles_required("onboarding")
def verification(case_id: int):
    """Schedule the verification call again (the last one never reached the customer)."""
    case = _locked(case_id)
    try:
        if case.status != SOLUTION_OFFERED:
            raise service.CaseConflict("verification", N_("Only a case with a solution offered is verified."))
        call = resolution.schedule_verification(db.session, case, now=clock.now(), actor=actor_of(current_user))
        if call is None and resolution.pending_verification(db.session, case) is not None:
            raise service.CaseConflict("verification", N_("A verification call is already waiting."))
    except service.ComplaintError as exc:
        return case_views._refused(case_id, exc, "verification")
    db.session.commit()
    if call is None:
        return _back(case, _("No verification call could be scheduled: see the case's history."))
    return _back(case, _("%(owner)s will call the customer on %(when)s to check the solution held.",
                         owner=call.owner.display_name, when=i18n.when(call.due_at)))


@blueprint.route("/<int:case_id>/apology", methods=["POST"])
@roles_required("onboarding")
def apology(case_id: int):
    """Queue the apology letter (once per case unless asked again)."""
    case = _locked(case_id)
    try:
        resolution.queue_apology(db.session, case, now=clock.now(), actor=actor_of(current_user),
                                 again=request.form.get("again") == "1")
    except service.ComplaintError as exc:
        return case_views._refused(case_id, exc, "apology")
    db.session.commit()
    return _back(case, _("The apology letter is queued for the next print batch."))


@blueprint.route("/<int:case_id>/concessions", methods=["POST"])
@roles_required("onboarding")
def concession(case_id: int):
    """Grant a concession: at once within your limit, else it waits for an admin."""
    case = _locked(case_id)
    form = request.form
    try:
        row = concessions.request(db.session, case, kind=form.get("kind", ""), amount=form.get("amount", ""),
                                  note=form.get("note", ""), staff=current_user, now=clock.now(),
                                  actor=actor_of(current_user))
    except service.ComplaintError as exc:
        return case_views._refused(case_id, exc, "concession")
    db.session.commit()
    if row.status == concessions.APPROVED:
        return _back(case, _("Concession approved: %(kind)s, %(amount)s.", kind=wording.label(KIND_LABELS, row.kind),
                             amount=i18n.money(row.amount, row.currency)))
    return _back(case, _("Above your limit: the concession (%(amount)s) waits for an admin's approval.",
                         amount=i18n.money(row.amount, row.currency)))


# --- admins: concessions waiting for a decision ------------------------------------------------------------

@blueprint.route("/concessions")
@roles_required("admin")
def pending():
    """Concessions above their requester's limit, oldest first, each with approve and reject."""
    return _pending_page()


def _pending_page(status: int = 200, alert: str = ""):
    rows = [_concession_row(c) for c in concessions.pending(db.session)]
    return render_template("complaints/concessions.html", rows=rows, alert=alert), status


def _decide(concession_id: int, approve: bool):
    try:
        row = concessions.get(db.session, concession_id, for_update=True)
        concessions.decide(db.session, row, approve=approve, staff=current_user, now=clock.now(),
                           actor=actor_of(current_user), note=request.form.get("note", ""))
    except service.ComplaintError as exc:
        db.session.rollback()
        if http_status(exc) == 404:
            abort(404, description=exc.translated())
        return _pending_page(http_status(exc), exc.translated())
    db.session.commit()
    flash(_("Approved: %(amount)s for %(name)s.", amount=i18n.money(row.amount, row.currency),
            name=row.case.customer.name) if approve else
          _("Rejected: %(amount)s for %(name)s.", amount=i18n.money(row.amount, row.currency),
            name=row.case.customer.name))
    target = request.form.get("back") == "case"
    return redirect(url_for("complaints.show", case_id=row.case_id) + "#resolution" if target
                    else url_for("complaint_resolution.pending"), 303)


@blueprint.route("/concessions/<int:concession_id>/approve", methods=["POST"])
@roles_required("admin")
def approve(concession_id: int):
    return _decide(concession_id, True)


@blueprint.route("/concessions/<int:concession_id>/reject", methods=["POST"])
@roles_required("admin")
def reject(concession_id: int):
    return _decide(concession_id, False)


# --- admins: each person's limits (a form on the staff page) -------------------------------------------------

def parse_limits(text: str) -> dict:
    """"USD 50, EUR 60.50" (commas or new lines between pairs) -> {"USD": "50", "EUR": "60.50"}."""
    limits = {}
    if len(text or "") > 500:
        raise service.ComplaintError("limit", N_("Write each limit as a currency code and an amount, e.g. USD 50."))
    for part in (text or "").replace("\n", ",").split(","):
        bits = part.split()
        if not bits:
            continue
        if len(bits) != 2:
            raise service.ComplaintError("limit", N_("Write each limit as a currency code and an amount, e.g. USD 50."))
        limits[bits[0]] = bits[1]
    return limits


@blueprint.route("/limits/<int:user_id>", methods=["POST"])
@roles_required("admin")
def set_limits(user_id: int):
    """How much this person may grant at once, per currency (above it an admin approves)."""
    from retention.staff import admin as staff_admin

    user = db.session.get(StaffUser, user_id) or abort(404, description=_("There is no such staff member."))
    try:
        concessions.set_limits(db.session, user, parse_limits(request.form.get("limits", "")), now=clock.now(),
                               actor=actor_of(current_user))
    except service.ComplaintError as exc:
        db.session.rollback()
        return staff_admin._staff_page(exc, 422, user_id)
    db.session.commit()
    flash(_("Concession limits saved for %(name)s.", name=user.display_name))
    return redirect(url_for("staff_admin.staff_index") + f"#staff-{user.id}", 303)


def limits_text(user: StaffUser) -> str:
    """A person's limits as the staff page's field shows them: "USD 50.00, EUR 60.50"."""
    return ", ".join(f"{code} {amount}" for code, amount in sorted((user.concession_limits or {}).items()))


@blueprint.app_template_global("concession_limits_text")
def _limits_global(user: StaffUser) -> str:
    return limits_text(user)

