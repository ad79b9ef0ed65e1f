"""Admins on pages and in the CLI: staff accounts (deactivate, reactivate, role, password) and API tokens."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from retention.audit.models import AuditEntry
from retention.extensions import db
from retention.staff.models import ApiToken, StaffUser
from tests.conftest import Auth
from tests.factories import PASSWORD, staff, token_for

UTC = dt.timezone.utc


def _admin(app, client):
    admin = staff(app, "boss@example.com", "admin")
    Auth(client).login("boss@example.com")
    return admin


def _csrf(client, path="/admin/staff/"):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def _actions() -> list[str]:
    db.session.expire_all()
    return [a.action for a in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_admin_deactivates_and_reactivates_a_person(app, client):
    admin = _admin(app, client)
    sara = staff(app, "sara@example.com", "onboarding")
    sara_browser = app.test_client()
    Auth(sara_browser).login("sara@example.com")
    token = token_for(app, sara)
    page = client.get("/admin/staff/").get_data(as_text=True)
    assert "sara@example.com" in page and "Deactivate" in page
    response = client.post(f"/admin/staff/{sara.id}/deactivate", data={"csrf_token": _csrf(client)})
    assert response.status_code == 303
    assert sara_browser.get("/calls/").status_code == 302  # her session has ended
    assert Auth(app.test_client()).login("sara@example.com").status_code == 401
    assert client.get("/api/v1/customers/", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    client.post(f"/admin/staff/{sara.id}/reactivate", data={"csrf_token": _csrf(client)})
    assert Auth(app.test_client()).login("sara@example.com").status_code == 302
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("staff.%activated"))).all()
    assert [(e.action, e.actor, e.entity_id) for e in entries] == [
        ("staff.deactivated", f"staff:{admin.id}", str(sara.id)),
        ("staff.reactivated", f"staff:{admin.id}", str(sara.id))]


def test_admin_changes_a_role_and_resets_a_password(app, client):
    _admin(app, client)
    sara = staff(app, "sara@example.com", "onboarding")
    assert client.post(f"/admin/staff/{sara.id}/role", data={"csrf_token": _csrf(client), "role": "marketing"}
                       ).status_code == 303
    bad = client.post(f"/admin/staff/{sara.id}/role", data={"csrf_token": _csrf(client), "role": "boss"})
    assert bad.status_code == 422 and "Role: must be one of" in bad.get_data(as_text=True)
    short = client.post(f"/admin/staff/{sara.id}/password", data={"csrf_token": _csrf(client), "password": "short"})
    assert short.status_code == 422 and "Password: at least 8 characters" in short.get_data(as_text=True)
    assert client.post(f"/admin/staff/{sara.id}/password",
                       data={"csrf_token": _csrf(client), "password": "brand-new-password"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(StaffUser, sara.id).role == "marketing"
    assert Auth(app.test_client()).login("sara@example.com", PASSWORD).status_code == 401
    assert Auth(app.test_client()).login("sara@example.com", "brand-new-password").status_code == 302
    assert {"staff.role_changed", "staff.password_reset"} <= set(_actions())


def test_the_last_admin_cannot_deactivate_or_demote_themself(app, client):
    admin = _admin(app, client)
    for path, data in ((f"/admin/staff/{admin.id}/deactivate", {}), (f"/admin/staff/{admin.id}/role",
                                                                      {"role": "print"})):
        response = client.post(path, data={"csrf_token": _csrf(client), **data})
        assert response.status_code == 409
        assert "last active admin" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(StaffUser, admin.id).active and db.session.get(StaffUser, admin.id).role == "admin"
    # With a second admin, stepping down is fine.
    staff(app, "deputy@example.com", "admin")
    assert client.post(f"/admin/staff/{admin.id}/role", data={"csrf_token": _csrf(client), "role": "print"}
                       ).status_code == 303


def test_staff_pages_are_for_admins_only_and_need_csrf(app, client):
    sara = staff(app, "sara@example.com", "onboarding")
    Auth(client).login("sara@example.com")
    assert client.get("/admin/staff/").status_code == 403
    assert client.get("/admin/tokens/").status_code == 403
    _admin(app, app.test_client())
    boss = app.test_client()
    Auth(boss).login("boss@example.com")
    assert boss.post(f"/admin/staff/{sara.id}/deactivate").status_code == 400  # no CSRF token
    db.session.expire_all()
    assert db.session.get(StaffUser, sara.id).active


def test_nav_shows_staff_and_tokens_to_admins(app, client):
    _admin(app, client)
    page = client.get("/admin/staff/").get_data(as_text=True)
    assert 'href="/admin/staff/"' in page and 'href="/admin/tokens/"' in page


def test_admin_issues_lists_expires_and_revokes_tokens(app, client):
    _admin(app, client)
    sara = staff(app, "sara@example.com", "onboarding")
    issued = client.post("/admin/tokens/", data={"csrf_token": _csrf(client, "/admin/tokens/"),
                                                 "user_id": str(sara.id), "label": "crm sync"})
    assert issued.status_code == 201
    token = re.search(r'id="new-token" dir="ltr">(rt_[^<]+)<', issued.get_data(as_text=True)).group(1)
    assert client.get("/api/v1/customers/", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    row = db.session.scalar(select(ApiToken))
    page = client.get("/admin/tokens/").get_data(as_text=True)
    assert "crm sync" in page and token not in page  # shown once only
    # Expire it (empty date: now): it stops working.
    assert client.post(f"/admin/tokens/{row.id}/expire", data={"csrf_token": _csrf(client, "/admin/tokens/")}
                       ).status_code == 303
    assert client.get("/api/v1/customers/", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    second = token_for(app, sara)
    second_row = db.session.scalar(select(ApiToken).order_by(ApiToken.id.desc()))
    assert client.post(f"/admin/tokens/{second_row.id}/revoke", data={"csrf_token": _csrf(client, "/admin/tokens/")}
                       ).status_code == 303
    assert client.get("/api/v1/customers/", headers={"Authorization": f"Bearer {second}"}).status_code == 401
    bad = client.post(f"/admin/tokens/{second_row.id}/expire",
                      data={"csrf_token": _csrf(client, "/admin/tokens/"), "expires_on": "soon"})
    assert bad.status_code == 422
    assert {"token.issued", "token.expiry_set", "token.revoked"} <= set(_actions())


def test_a_future_expiry_keeps_the_token_working_until_then(app, client):
    _admin(app, client)
    sara = staff(app, "sara@example.com", "onboarding")
    token = token_for(app, sara)
    row = db.session.scalar(select(ApiToken))
    tomorrow = (dt.datetime.now(UTC) + dt.timedelta(days=2)).date().isoformat()
    client.post(f"/admin/tokens/{row.id}/expire",
                data={"csrf_token": _csrf(client, "/admin/tokens/"), "expires_on": tomorrow})
    assert client.get("/api/v1/customers/", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    db.session.expire_all()
    assert db.session.get(ApiToken, row.id).expires_at.date().isoformat() == tomorrow


def test_last_used_is_written_at_most_once_a_minute(app, client):
    sara = staff(app, "sara@example.com", "onboarding")
    token = token_for(app, sara)
    bearer = {"Authorization": f"Bearer {token}"}
    assert db.session.scalar(select(ApiToken.last_used_at)) is None
    client.get("/api/v1/customers/", headers=bearer)
    db.session.expire_all()
    first = db.session.scalar(select(ApiToken.last_used_at))
    assert first is not None
    client.get("/api/v1/customers/", headers=bearer)
    db.session.expire_all()
    assert db.session.scalar(select(ApiToken.last_used_at)) == first
    db.session.execute(ApiToken.__table__.update().values(last_used_at=first - dt.timedelta(minutes=2)))
    db.session.commit()
    client.get("/api/v1/customers/", headers=bearer)
    db.session.expire_all()
    assert db.session.scalar(select(ApiToken.last_used_at)) > first - dt.timedelta(seconds=1)


def test_cli_manages_people_and_tokens(app, client):
    runner = app.test_cli_runner()
    staff(app, "boss@example.com", "admin")
    staff(app, "sara@example.com", "onboarding")
    assert "sara@example.com\tonboarding\tactive" in runner.invoke(args=["users", "list"]).output
    assert runner.invoke(args=["users", "set-role", "sara@example.com", "print"]).exit_code == 0
    bad = runner.invoke(args=["users", "set-role", "sara@example.com", "boss"])
    assert bad.exit_code == 2 and "role" in bad.output
    assert runner.invoke(args=["users", "deactivate", "sara@example.com"]).exit_code == 0
    assert "deactivated" in runner.invoke(args=["users", "list"]).output
    assert runner.invoke(args=["users", "reactivate", "sara@example.com"]).exit_code == 0
    reset = runner.invoke(args=["users", "reset-password", "sara@example.com", "--password", "another-password"])
    assert reset.exit_code == 0, reset.output
    assert Auth(client).login("sara@example.com", "another-password").status_code == 302
    last = runner.invoke(args=["users", "deactivate", "boss@example.com"])
    assert last.exit_code == 2 and "last active admin" in last.output
    assert runner.invoke(args=["users", "deactivate", "nobody@example.com"]).exit_code == 2

    token = runner.invoke(args=["tokens", "create", "sara@example.com", "--label", "sync"]).stdout.strip()
    row = db.session.scalar(select(ApiToken))
    listing = runner.invoke(args=["tokens", "list", "--email", "sara@example.com"]).output
    assert f"{row.id}\tsara@example.com\tsync\tactive" in listing
    assert runner.invoke(args=["tokens", "revoke", str(row.id)]).exit_code == 0
    assert "\trevoked\t" in runner.invoke(args=["tokens", "list"]).output
    assert client.get("/api/v1/customers/", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    other = runner.invoke(args=["tokens", "create", "sara@example.com"]).stdout.strip()
    other_id = db.session.scalar(select(ApiToken.id).order_by(ApiToken.id.desc()))
    assert runner.invoke(args=["tokens", "expire", str(other_id)]).exit_code == 0
    assert client.get("/api/v1/customers/", headers={"Authorization": f"Bearer {other}"}).status_code == 401
    assert runner.invoke(args=["tokens", "expire", "999"]).exit_code == 2
    actions = set(_actions())
    assert {"staff.role_changed", "staff.deactivated", "staff.reactivated", "staff.password_reset",
            "token.revoked", "token.expiry_set"} <= actions
    assert db.session.scalar(select(AuditEntry.actor).where(AuditEntry.action == "token.revoked")) == "cli"


def test_cli_creates_someone_with_the_languages_they_speak(app):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["users", "create", "leila@example.com", "--role", "onboarding", "--password",
                               "long-enough-password", "--locale", "fa", "--languages", "fa,ar"])
    assert made.exit_code == 0, made.output
    assert "leila@example.com\tonboarding\tactive\tar,fa" in runner.invoke(args=["users", "list"]).output
    default = runner.invoke(args=["users", "create", "omar@example.com", "--role", "onboarding", "--password",
                                  "long-enough-password", "--locale", "ar"])
    assert default.exit_code == 0 and "omar@example.com\tonboarding\tactive\tar" in \
        runner.invoke(args=["users", "list"]).output  # they speak the language of their pages
    bad = runner.invoke(args=["users", "create", "x@example.com", "--role", "print", "--password",
                              "long-enough-password", "--languages", "elvish"])
    assert bad.exit_code == 2 and "languages: unknown language elvish" in bad.output


def test_admin_pages_in_persian(app, client):
    admin = staff(app, "boss@example.com", "admin", locale="fa", timezone="Asia/Tehran")
    Auth(client).login("boss@example.com")
    staff(app, "sara@example.com", "print", name="سارا")
    token_for(app, admin)
    people = client.get("/admin/staff/").get_data(as_text=True)
    assert "کارکنان" in people and "واحد پست" in people and "زبان‌های گفتاری" in people
    for english in ("Change role", "Set password", "Deactivate", "active<", "Mail room", "print<"):
        assert english not in people, english
    tokens = client.get("/admin/tokens/").get_data(as_text=True)
    assert "صدور توکن" in tokens and "وقت ایران" in tokens
    for english in ("Issue token", "Last used", "Revoke", "never", ">active<"):
        assert english not in tokens, english
    refused = client.post("/admin/tokens/", data={"csrf_token": _csrf(client, "/admin/tokens/"), "user_id": "x",
                                                  "label": "همگام‌سازی"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "کارمند: یک کارمند را انتخاب کنید" in page
    assert 'value="همگام‌سازی"' in page  # what was typed stays
