"""Admin pages for staff accounts and API tokens: deactivate, reactivate, change role, reset password, revoke."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from retention.audit.service import actor_of
from retention.errors import http_status
from retention.extensions import db
from retention.staff import absences, service, sessions
from retention.staff.models import ROLE_LABELS, ROLES, ApiToken, StaffUser
from retention.staff.access import roles_required
from retention import clock

blueprint = Blueprint("staff_admin", __name__, url_prefix="/admin")


# Token states as the page names them.
def _token_states() -> dict:
    return {"active": _("active"), "revoked": _("revoked"), "expired": _("expired")}


def _spoken_names() -> dict:
    """code -> the language's name in the reader's language, for every language staff may speak."""
    from retention.i18n import ui_language
    from retention.staff.views import _language_name

    viewer = ui_language()
    return {code: _language_name(code, viewer) for code in service.SPOKEN_LANGUAGES}


def _staff_page(error: service.StaffError | None = None, status: int = 200, user_id: int | None = None):
    now = clock.now()
    people = service.list_staff(db.session)
    idle = current_app.config["SESSION_IDLE_SECONDS"]
    live = {u.id: sessions.live_session_count(db.session, u.id, now=now, idle_seconds=idle) for u in people}
    return render_template("admin/staff.html", people=people, roles=ROLES, role_labels=ROLE_LABELS, live=live,
                           error=error, error_user=user_id, spoken=_spoken_names(),
                           away=absences.away_now(db.session, people, now)), status


# --- One person: their details and when they are away -----------------------------------------------------------

def _person(user_id: int) -> StaffUser:
    return db.session.get(StaffUser, user_id) or abort(404, description=_("There is no such staff member."))


def _person_page(person: StaffUser, *, status: int = 200, error: absences.AbsenceError | None = None,
                 values: dict | None = None):
    from retention.staff.views import absence_section

    return render_template("admin/staff_person.html", person=person, spoken=_spoken_names(),
                           away=absence_section(person, mine=False, error=error, values=values)), status


@blueprint.route("/staff/<int:user_id>")
@roles_required("admin")
def staff_person(user_id: int):
    """One staff member: role, languages, and the days they are away (set by an admin for anyone)."""
    return _person_page(_person(user_id))


@blueprint.route("/staff/<int:user_id>/absences", methods=["POST"])
@roles_required("admin")
def add_absence(user_id: int):
    from retention.staff.views import absence_added_message, absence_form

    person = _person(user_id)
    values = absence_form()
    try:
        absence = absences.add_absence(db.session, person, **values, actor=actor_of(current_user), now=clock.now(),
                                       created_by=db.session.get(StaffUser, current_user.id))
    except absences.AbsenceError as exc:
        db.session.rollback()
        return _person_page(person, status=http_status(exc), error=exc, values=values)
    db.session.commit()
    flash(absence_added_message(absence))
    return redirect(url_for("staff_admin.staff_person", user_id=person.id) + "#away", 303)


@blueprint.route("/staff/<int:user_id>/absences/<int:absence_id>/cancel", methods=["POST"])
@roles_required("admin")
def cancel_absence(user_id: int, absence_id: int):
    from retention.staff.views import cancel_absence_answer

    person = _person(user_id)
    return cancel_absence_answer(person.id, absence_id, url_for("staff_admin.staff_person", user_id=person.id))


@blueprint.route("/staff/")
@roles_required("admin")
def staff_index():
    """Every staff account with its role, state and signed-in sessions."""
    return _staff_page()


def _change(user_id: int, change, done):
    """Run one account change in the service; 422 (409 for the last admin) with the reason, nothing changed.

    `done(user)` is the confirmation, written after the change (in the admin's language)."""
    user = db.session.get(StaffUser, user_id) or abort(404, description=_("There is no such staff member."))
    try:
        change(user)
    except service.LastAdminError as exc:
        db.session.rollback()
        return _staff_page(exc, 409, user_id)
    except service.StaffError as exc:
        db.session.rollback()
        return _staff_page(exc, 422, user_id)
    db.session.commit()
    flash(done(user))
    return redirect(url_for("staff_admin.staff_index") + f"#staff-{user.id}", 303)


@blueprint.route("/staff/<int:user_id>/deactivate", methods=["POST"])
@roles_required("admin")
def deactivate(user_id: int):
    return _change(user_id, lambda u: service.deactivate(db.session, u, actor=actor_of(current_user), now=clock.now()),
                   lambda u: _("%(name)s can no longer sign in; their sessions have ended.", name=u.display_name))


@blueprint.route("/staff/<int:user_id>/reactivate", methods=["POST"])
@roles_required("admin")
def reactivate(user_id: int):
    return _change(user_id, lambda u: service.reactivate(db.session, u, actor=actor_of(current_user), now=clock.now()),
                   lambda u: _("%(name)s can sign in again.", name=u.display_name))


@blueprint.route("/staff/<int:user_id>/role", methods=["POST"])
@roles_required("admin")
def change_role(user_id: int):
    role = request.form.get("role", "")
    return _change(user_id, lambda u: service.change_role(db.session, u, role, actor=actor_of(current_user),
                                                          now=clock.now()),
                   lambda u: _("%(name)s now works as: %(role)s.", name=u.display_name, role=u.role_label))


@blueprint.route("/staff/<int:user_id>/password", methods=["POST"])
@roles_required("admin")
def reset_password(user_id: int):
    password = request.form.get("password", "")
    hasher = current_app.extensions["password_hasher"]
    return _change(user_id, lambda u: service.reset_password(db.session, hasher, u, password,
                                                             actor=actor_of(current_user), now=clock.now()),
                   lambda u: _("New password set for %(name)s; their sessions have ended.", name=u.display_name))


@blueprint.route("/staff/<int:user_id>/languages", methods=["POST"])
@roles_required("admin")
def set_languages(user_id: int):
    """The languages someone speaks with customers (new customers go to someone who speaks theirs)."""
    languages = request.form.getlist("languages")[:50]
    return _change(user_id, lambda u: service.set_languages(db.session, u, languages, actor=actor_of(current_user),
                                                            now=clock.now()),
                   lambda u: _("Languages saved for %(name)s.", name=u.display_name))


def _tokens_page(error: service.StaffError | None = None, status: int = 200, new_token: str | None = None):
    return render_template("admin/tokens.html", tokens=service.list_tokens(db.session), now=clock.now(),
                           people=[u for u in service.list_staff(db.session) if u.active],
                           error=error, new_token=new_token, states=_token_states(), form=request.form), status


@blueprint.route("/tokens/")
@roles_required("admin")
def tokens_index():
    """Every API token: whose, when last used, expiry, revoked."""
    return _tokens_page()


def _expiry_date(text: str) -> dt.datetime | None:
    """A date from the form (YYYY-MM-DD): the token stops working at the start of that day, UTC."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise service.StaffError(service.N_("not a date (YYYY-MM-DD)"), field="expires_on") from None
    if not 2000 <= day.year <= 9000:
        raise service.StaffError(service.N_("out of range"), field="expires_on")
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.timezone.utc)


@blueprint.route("/tokens/", methods=["POST"])
@roles_required("admin")
def issue_token():
    """Issue a token; it is shown once, on this answer only (never stored, never in a redirect)."""
    now = clock.now()
    try:
        user_id = request.form.get("user_id", "")
        if not (user_id.isascii() and user_id.isdigit() and len(user_id) <= 10):
            raise service.StaffError(service.N_("choose a staff member"), field="user_id")
        user = db.session.get(StaffUser, int(user_id))
        if user is None or not user.active:
            raise service.StaffError(service.N_("no active staff member with this id"), field="user_id")
        token = service.issue_token(db.session, user, actor=actor_of(current_user), now=now,
                                    label=request.form.get("label", "").strip(),
                                    expires_at=_expiry_date(request.form.get("expires_on", "")))
    except service.StaffError as exc:
        db.session.rollback()
        return _tokens_page(exc, 422)
    db.session.commit()
    return _tokens_page(new_token=token, status=201)


def _token_change(token_id: int, change, done: str):
    db.session.get(ApiToken, token_id) or abort(404, description=_("There is no such token."))
    try:
        change()
    except service.StaffError as exc:
        db.session.rollback()
        return _tokens_page(exc, 422)
    db.session.commit()
    flash(done)
    return redirect(url_for("staff_admin.tokens_index"), 303)


@blueprint.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@roles_required("admin")
def revoke_token(token_id: int):
    return _token_change(token_id, lambda: service.revoke_token(db.session, token_id, actor=actor_of(current_user),
                                                                now=clock.now()),
                         _("Token %(id)s revoked: it no longer works.", id=token_id))


@blueprint.route("/tokens/<int:token_id>/expire", methods=["POST"])
@roles_required("admin")
def expire_token(token_id: int):
    """Set the day a token stops working (empty: now)."""
    now = clock.now()

    def change():
        at = _expiry_date(request.form.get("expires_on", "")) or now
        service.expire_token(db.session, token_id, at=at, actor=actor_of(current_user), now=now)

    return _token_change(token_id, change, _("Expiry set for token %(id)s.", id=token_id))
