"""Sign-in and sign-out pages."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.exceptions import TooManyRequests

from retention.extensions import db
from retention.staff import service
from retention.staff.models import StaffUser
from retention.types import utcnow

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
    now = utcnow()
    cfg = current_app.config
    keys = [f"email:{email}", f"ip:{request.remote_addr}"]
    wait = service.login_throttled(db.session, keys, now, cfg["LOGIN_MAX_FAILURES"], cfg["LOGIN_WINDOW_SECONDS"])
    if wait:
        error = TooManyRequests(f"Too many failed sign-ins. Try again in {wait} seconds.")
        response = current_app.make_response((render_template("login.html", error=error.description), 429))
        response.headers["Retry-After"] = str(wait)
        return response
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
    hasher = current_app.extensions["password_hasher"]
    if not service.check_password(hasher, user, password) or not user.active:
        service.record_failure(db.session, keys, now)
        db.session.commit()
        return render_template("login.html", error="Wrong email or password.", email=email), 401
    service.clear_failures(db.session, f"email:{email}")
    db.session.commit()
    login_user(user)
    target = request.args.get("next") or ""
    # Only same-site paths: an open redirect after sign-in is a phishing aid.
    if not target.startswith("/") or target.startswith("//"):
        target = _home_for(user)
    return redirect(target)


@blueprint.route("/logout", methods=["POST"])
def logout():
    """Sign out (a POST, so a link on another site cannot sign staff out)."""
    logout_user()
    flash("Signed out.")
    return redirect(url_for("staff.login"))
