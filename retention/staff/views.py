"""Sign-in and sign-out, each role's start page, and every staff member's own settings."""
from __future__ import annotations

from babel import Locale
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask import session as cookie
from flask_babel import gettext as _, lazy_gettext as _l, ngettext, refresh
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from retention.audit.service import actor_of
from retention.extensions import db
from retention.formatting import LANGUAGES
from retention.staff import service, sessions
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

def _settings_page(values: dict, error: service.StaffError | None = None, status: int = 200):
    from retention.i18n import ui_language

    viewer = ui_language()
    spoken = [(code, _language_name(code, viewer)) for code in service.SPOKEN_LANGUAGES]
    return render_template("settings.html", values=values, error=error, languages=LANGUAGE_NAMES,
                           signature_languages={code: _language_name(code, viewer) for code in service.SIGNATURE_LANGUAGES},
                           spoken=spoken, zones=sorted(ZONES), now_moment=clock.now()), status


def _language_name(code: str, viewer: str) -> str:
    """A language's name in the reader's language ("Persian", "الفارسية", "فارسی")."""
    try:
        return Locale.parse(viewer).languages.get(code) or code
    except (ValueError, TypeError):
        return code


@blueprint.route("/settings", methods=["GET"])
@roles_required("onboarding", "marketing", "print")
def settings():
    """My settings: the language and digits of my pages, my time zone and the languages I speak."""
    user = current_user
    return _settings_page({"locale": user.locale, "digits": user.digits or "", "timezone": user.timezone or "UTC",
                           "languages": list(user.languages or []), "signatures": dict(user.letter_signatures or {})})


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
