"""Sign-in and sign-out, each role's start page, and every staff member's own settings."""
from __future__ import annotations

import datetime as dt

from babel import Locale
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask import session as cookie
from flask_babel import gettext as _, lazy_gettext as _l, ngettext, refresh
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from retention.audit.service import actor_of
from retention.extensions import db
from retention.formatting import LANGUAGES
from retention.errors import http_status
from retention.staff import absences, service, sessions
from retention.staff.access import roles_required
from retention.staff.models import StaffUser
from retention.staff.redirects import safe_next
from retention.validation import ZONES
from retention import clock

blueprint = Blueprint("staff", __name__)

# Where each role starts: its own work (issue 9, item 7). The mail room never lands on the customer list.
START_PAGES = {
    "onboarding": ("calls.my_calls", _l("My calls")),
    "marketing": ("letters.templates", _l("Letter templates")),
    "print": ("letters.mail_room", _l("Print batches")),
    "admin": ("events_admin.index", _l("Events")),
}
# The interface languages, each by its own name (not translated: a reader finds their own language).
LANGUAGE_NAMES = {"en": "English", "ar": "العربية", "fa": "فارسی"}


def start_page(user=None) -> tuple[str, str]:
    """(url, label) of a person's start page; the sign-in page for visitors."""
    user = user if user is not None else (current_user if current_user.is_authenticated else None)
    if user is None:
        return url_for("staff.login"), _("Sign in")
    endpoint, label = START_PAGES.get(user.role, ("customers.index", _l("Customers")))
    if endpoint not in current_app.view_functions:  # a part of the app not registered (tests, trimmed apps)
        endpoint, label = "customers.index", _l("Customers")
    return url_for(endpoint), str(label)


@blueprint.app_context_processor
def _start_page_helper() -> dict:
    return {"start_page": start_page}


@blueprint.route("/")
def home():
    """Send staff to their start page, everyone else to sign in."""
    if current_user.is_authenticated:
        return redirect(start_page(current_user)[0])
    return redirect(url_for("staff.login"))


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with email and password; repeated failures are slowed down (429)."""
    if request.method == "GET":
        return render_template("login.html", languages=LANGUAGE_NAMES)
    email = (request.form.get("email") or "").strip().lower()
    password = request.form.get("password") or ""
    if len(email) > 254 or len(password) > 1000:
        return render_template("login.html", error=_("Email or password: too long."), email=email[:254],
                               languages=LANGUAGE_NAMES), 400
    now = clock.now()
    cfg = current_app.config
    pair_key, address_key = service.throttle_keys(email, request.remote_addr or "")
    # The attempt is counted (and committed) before the password is checked: parallel guesses cannot overtake.
    wait = service.reserve_attempt(db.session, [(pair_key, cfg["LOGIN_MAX_FAILURES"]),
                                                (address_key, cfg["LOGIN_MAX_FAILURES_PER_ADDRESS"])],
                                   now, cfg["LOGIN_WINDOW_SECONDS"])
    db.session.commit()
    if wait:
        error = ngettext("Too many failed sign-ins. Try again in %(num)d second.",
                         "Too many failed sign-ins. Try again in %(num)d seconds.", wait)
        response = current_app.make_response((render_template("login.html", error=error, email=email,
                                                               languages=LANGUAGE_NAMES), 429))
        response.headers["Retry-After"] = str(wait)
        return response
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
    hasher = current_app.extensions["password_hasher"]
    if not service.check_password(hasher, user, password) or not user.active:
        return render_template("login.html", error=_("Wrong email or password."), email=email,
                               languages=LANGUAGE_NAMES), 401
    service.forget_attempt(db.session, pair_key, address_key)
    session_id = sessions.start_session(db.session, user.id, now=now)
    db.session.commit()
    cookie[sessions.SESSION_KEY] = session_id  # a new random id: a cookie planted before sign-in is worthless
    login_user(user)
    return redirect(safe_next(request.args.get("next"), start_page(user)[0]))


@blueprint.route("/logout", methods=["POST"])
def logout():
    """Sign out (a POST, so a link on another site cannot sign staff out); the server-side session ends."""
    language = current_user.locale if current_user.is_authenticated else None
    message = _("Signed out.")  # in the language they were reading, before they become a visitor
    sessions.end_session(db.session, cookie.get(sessions.SESSION_KEY), now=clock.now())
    db.session.commit()
    logout_user()
    cookie.pop(sessions.SESSION_KEY, None)
    flash(message)
    # The sign-in page in the language they were reading, not whatever the browser prefers.
    return redirect(url_for("staff.login", lang=language) if language in LANGUAGES else url_for("staff.login"))


# --- My settings ---------------------------------------------------------------------------------

def _settings_page(values: dict, error: service.StaffError | None = None, status: int = 200,
                   away: dict | None = None):
    from retention.i18n import ui_language

    viewer = ui_language()
    spoken = [(code, _language_name(code, viewer)) for code in service.SPOKEN_LANGUAGES]
    user = db.session.get(StaffUser, current_user.id)
    return render_template("settings.html", values=values, error=error, languages=LANGUAGE_NAMES,
                           signature_languages={code: _language_name(code, viewer) for code in service.SIGNATURE_LANGUAGES},
                           spoken=spoken, zones=sorted(ZONES), now_moment=clock.now(),
                           away=away or absence_section(user, mine=True)), status


def _my_values() -> dict:
    user = current_user
    return {"locale": user.locale, "digits": user.digits or "", "timezone": user.timezone or "UTC",
            "languages": list(user.languages or []), "signatures": dict(user.letter_signatures or {})}


# --- Absences: the "Away" section of My settings and of an admin's page of one person -------------------------

# Absences ended longer ago than this are not listed (the audit log keeps them).
AWAY_LISTED_AFTER = 90


def absence_section(person: StaffUser, *, mine: bool, error: absences.AbsenceError | None = None,
                    values: dict | None = None) -> dict:
    """What templates/staff/_absences.html shows: the person's absences (current, coming, recently over)."""
    today = absences.today_for(person, clock.now())
    since = today - dt.timedelta(days=AWAY_LISTED_AFTER)
    rows = [{"absence": a, "state": "over" if a.ends_on < today else "now" if a.starts_on <= today else "coming"}
            for a in absences.list_absences(db.session, person.id, since=since)]
    if mine:
        add_url, cancel_endpoint, cancel_args = url_for("staff.add_my_absence"), "staff.cancel_my_absence", {}
    else:
        add_url = url_for("staff_admin.add_absence", user_id=person.id)
        cancel_endpoint, cancel_args = "staff_admin.cancel_absence", {"user_id": person.id}
    return {"person": person, "rows": rows, "mine": mine, "add_url": add_url, "cancel_endpoint": cancel_endpoint,
            "cancel_args": cancel_args, "error": error, "form": values or {}, "max_days": absences.MAX_DAYS}


def absence_form() -> dict:
    form = request.form
    return {"starts_on": form.get("starts_on", "")[:40], "ends_on": form.get("ends_on", "")[:40],
            "note": form.get("note", "")[:absences.MAX_NOTE * 2]}


def absence_added_message(absence) -> str:
    from retention.i18n import when

    if absence.starts_on == absence.ends_on:
        return _("Absence saved: %(day)s.", day=when(absence.starts_on, None, "date"))
    return _("Absence saved: %(first)s to %(last)s.", first=when(absence.starts_on, None, "date"),
             last=when(absence.ends_on, None, "date"))


@blueprint.route("/settings/absences", methods=["POST"])
@roles_required("onboarding", "marketing", "print")
def add_my_absence():
    """Enter days I am away; refused (the message next to the field, nothing saved) when a day is wrong."""
    user = db.session.get(StaffUser, current_user.id)
    values = absence_form()
    try:
        absence = absences.add_absence(db.session, user, **values, actor=actor_of(current_user), now=clock.now(),
                                       created_by=user)
    except absences.AbsenceError as exc:
        db.session.rollback()
        return _settings_page(_my_values(), status=http_status(exc),
                              away=absence_section(user, mine=True, error=exc, values=values))
    db.session.commit()
    flash(absence_added_message(absence))
    return redirect(url_for("staff.settings") + "#away", 303)


@blueprint.route("/settings/absences/<int:absence_id>/cancel", methods=["POST"])
@roles_required("onboarding", "marketing", "print")
def cancel_my_absence(absence_id: int):
    """Take one of my absences off (another person's is "no such absence")."""
    return cancel_absence_answer(current_user.id, absence_id, url_for("staff.settings"))


def cancel_absence_answer(staff_id: int, absence_id: int, back: str):
    """Cancel one of `staff_id`'s absences, audited as the current user, then back to `back`'s "away" section
    (the person's own settings, or an admin's page of them); 404 when it is not theirs."""
    try:
        absences.cancel_absence(db.session, absence_id, staff_id=staff_id, actor=actor_of(current_user),
                                now=clock.now())
    except absences.AbsenceNotFound:
        db.session.rollback()
        abort(404, description=_("There is no such absence."))
    db.session.commit()
    flash(_("Absence cancelled."))
    return redirect(back + "#away", 303)


def _language_name(code: str, viewer: str) -> str:
    """A language's name in the reader's language ("Persian", "الفارسية", "فارسی")."""
    try:
        return Locale.parse(viewer).languages.get(code) or code
    except (ValueError, TypeError):
        return code


@blueprint.route("/settings", methods=["GET"])
@roles_required("onboarding", "marketing", "print")
def settings():
    """My settings: the language and digits of my pages, my time zone, the languages I speak, when I am away."""
    return _settings_page(_my_values())


@blueprint.route("/settings", methods=["POST"])
@roles_required("onboarding", "marketing", "print")
def save_settings():
    form = request.form
    values = {"locale": form.get("locale", ""), "digits": form.get("digits", ""),
              "timezone": form.get("timezone", "")[:64], "languages": form.getlist("languages")[:50],
              "signatures": {language: {part: form.get(f"signature_{part}_{language}", "")[:service.SIGNATURE_MAX * 2]
                                        for part in ("name", "title")}
                             for language in service.SIGNATURE_LANGUAGES}}
    user = db.session.get(StaffUser, current_user.id)
    try:
        changes = service.update_settings(db.session, user, actor=actor_of(current_user), now=clock.now(), **values)
    except service.StaffError as exc:
        db.session.rollback()
        return _settings_page(values, exc, 422)
    db.session.commit()
    refresh()  # the confirmation in the language just chosen
    flash(_("Your settings are saved.") if changes else _("Nothing changed."))
    return redirect(url_for("staff.settings"), 303)


# --- Error pages -----------------------------------------------------------------------------------

def error_detail(error) -> str:
    """What an error page says beyond its title: the reason a page gave (when it is written for the reader),
    never a framework's English default or developer text on an Arabic or Persian page."""
    from flask_wtf.csrf import CSRFError

    from retention.i18n import ui_language

    if isinstance(error, CSRFError):
        return _("The form had expired or came from another page. Go back, reload the page and try again.")
    description = getattr(error, "description", None)
    if description is not None and not isinstance(description, str):
        description = str(description)  # a lazy translation
    if not description or description == getattr(type(error), "description", None):
        return ""
    if ui_language() != "en" and description.isascii():
        return ""  # English text on an Arabic or Persian page: the page's own words say it better
    return description


# Flask-Login's message on the sign-in page (set in retention/__init__.py, translated when shown); listed
# here so that the extraction finds it.
_SIGN_IN_FIRST = _l("Sign in to see this page.")
