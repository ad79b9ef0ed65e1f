"""Server-side staff sessions: sign-out, idle time, deactivation, role change and password reset end them."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from retention.extensions import db
from retention.staff import service
from retention.staff.models import StaffSession
from tests.conftest import Auth
from tests.factories import staff

UTC = dt.timezone.utc


def _signed_in(app, email="sara@example.com", role="onboarding"):
    client = app.test_client()
    user = staff(app, email, role)
    assert Auth(client).login(email).status_code == 302
    assert client.get("/calls/").status_code == 200
    return client, user


def _copy_of(client):
    """Another browser holding a copy of the session cookie."""
    thief = client.application.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def _sent_to_sign_in(response) -> bool:
    return response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_cookie_copied_before_sign_out_no_longer_works(app):
    client, _ = _signed_in(app)
    thief = _copy_of(client)
    assert thief.get("/calls/").status_code == 200  # the copy works while the session is live
    client.post("/logout", data={"csrf_token": Auth(client).csrf("/calls/")})
    assert _sent_to_sign_in(client.get("/calls/"))
    assert _sent_to_sign_in(thief.get("/calls/"))
    row = db.session.scalar(select(StaffSession))
    assert row.ended_at is not None and row.ended_reason == "signed out"


def _age_session(hours: float) -> None:
    db.session.execute(update(StaffSession).values(
        last_seen_at=dt.datetime.now(UTC) - dt.timedelta(hours=hours)))
    db.session.commit()


def test_a_session_ends_after_a_working_day_without_requests(app):
    client, _ = _signed_in(app)
    assert app.config["SESSION_IDLE_SECONDS"] == 10 * 3600
    _age_session(9.5)
    assert client.get("/calls/").status_code == 200  # still inside the working day; last seen is now again
    _age_session(10.1)
    assert _sent_to_sign_in(client.get("/calls/"))
    db.session.expire_all()
    assert db.session.scalar(select(StaffSession.ended_reason)) == "idle"


def test_idle_time_is_configurable(_schema):
    from tests.conftest import _empty_tables, make_app

    app = make_app(SESSION_IDLE_SECONDS=60)
    _empty_tables(app)
    with app.app_context():
        client, _ = _signed_in(app)
        db.session.execute(update(StaffSession).values(
            last_seen_at=dt.datetime.now(UTC) - dt.timedelta(seconds=61)))
        db.session.commit()
        assert _sent_to_sign_in(client.get("/calls/"))
        db.session.remove()
        db.engine.dispose()


def test_last_seen_is_written_at_most_once_a_minute(app):
    client, _ = _signed_in(app)
    first = db.session.scalar(select(StaffSession.last_seen_at))
    for _ in range(3):
        client.get("/calls/")
    db.session.expire_all()
    assert db.session.scalar(select(StaffSession.last_seen_at)) == first
    _age_session(2 / 60)  # two minutes ago
    client.get("/calls/")
    db.session.expire_all()
    assert dt.datetime.now(UTC) - db.session.scalar(select(StaffSession.last_seen_at)) < dt.timedelta(seconds=30)


@pytest.mark.parametrize("change", ["deactivate", "role", "password"])
def test_account_changes_end_every_session_of_that_person(app, change):
    client, sara = _signed_in(app)
    other_browser = app.test_client()
    Auth(other_browser).login("sara@example.com")
    now = dt.datetime.now(UTC)
    if change == "deactivate":
        service.deactivate(db.session, sara, actor="test", now=now)
    elif change == "role":
        service.change_role(db.session, sara, "marketing", actor="test", now=now)
    else:
        service.reset_password(db.session, app.extensions["password_hasher"], sara, "a-new-password",
                               actor="test", now=now)
    db.session.commit()
    assert _sent_to_sign_in(client.get("/calls/"))
    assert _sent_to_sign_in(other_browser.get("/customers/"))


def test_signing_in_again_gives_a_new_session_id(app):
    client, _ = _signed_in(app)
    before = client.get_cookie("session").value
    stale = _copy_of(client)
    client.post("/logout", data={"csrf_token": Auth(client).csrf("/calls/")})
    Auth(client).login("sara@example.com")
    assert client.get("/calls/").status_code == 200
    assert client.get_cookie("session").value != before
    assert _sent_to_sign_in(stale.get("/calls/"))  # the old cookie stays dead
