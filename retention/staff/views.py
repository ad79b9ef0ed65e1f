"""Sign-in and sign-out pages."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask import session as cookie
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.exceptions import TooManyRequests

from retention.extensions import db
from retention.staff import service, sessions
from retention.staff.models import StaffUser
from retention.staff.redirects import safe_next
from retention import clock

blueprint = Blueprint("staff", __name__)


def _home_for(user) -> str:
    return url_for("calls.my_calls") if user.role == "onboarding" else url_for("customers.index")


@blueprint.route("/")
def home():
    """Send staff to their start page, everyone else to sign in."""
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    return redirect(url_for("staff.login"))


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with email and password; repeated failures are slowed down (429)."""
    if request.method == "GET":
        return render_template("login.html")
    email = (request.form.get("email") or "").strip().lower()
    password = request.form.get("password") or ""
    if len(email) > 254 or len(password) > 1000:
        return render_template("login.html", error="Email or password: too long."), 400
    now = clock.now()
    cfg = current_app.config
    pair_key, address_key = service.throttle_keys(email, request.remote_addr or "")
    # The attempt is counted (and committed) before the password is checked: parallel guesses cannot overtake.
    wait = service.reserve_attempt(db.session, [(pair_key, cfg["LOGIN_MAX_FAILURES"]),
                                                (address_key, cfg["LOGIN_MAX_FAILURES_PER_ADDRESS"])],
                                   now, cfg["LOGIN_WINDOW_SECONDS"])
    db.session.commit()
    if wait:
        error = TooManyRequests(f"Too many failed sign-ins. Try again in {wait} seconds.")
        response = current_app.make_response((render_template("login.html", error=error.description), 429))
        response.headers["Retry-After"] = str(wait)
        return response
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
    hasher = current_app.extensions["password_hasher"]
    if not service.check_password(hasher, user, password) or not user.active:
        return render_template("login.html", error="Wrong email or password.", email=email), 401
    service.forget_attempt(db.session, pair_key, address_key)
    session_id = sessions.start_session(db.session, user.id, now=now)
    db.session.commit()
    cookie[sessions.SESSION_KEY] = session_id  # a new random id: a cookie planted before sign-in is worthless
    login_user(user)
    return redirect(safe_next(request.args.get("next"), _home_for(user)))


@blueprint.route("/logout", methods=["POST"])
def logout():
    """Sign out (a POST, so a link on another site cannot sign staff out); the server-side session ends."""
    sessions.end_session(db.session, cookie.get(sessions.SESSION_KEY), now=clock.now())
    db.session.commit()
    logout_user()
    cookie.pop(sessions.SESSION_KEY, None)
    flash("Signed out.")
    return redirect(url_for("staff.login"))
