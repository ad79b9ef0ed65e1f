"""Staff sign-in, roles on every page and API route, CSRF and brute-force slowing."""
from __future__ import annotations


import pytest

from retention.extensions import db
from tests.conftest import make_app
from tests.factories import PASSWORD, staff

PAGES = {  # path -> roles allowed (admin always allowed)
    "/customers/": {"onboarding", "marketing", "print"},
    "/admin/events/": set(),
}


def test_sign_in_and_out(app, client, auth):
    staff(app, "sara@example.com", "onboarding")
    response = auth.login("sara@example.com")
    assert response.status_code == 302
    assert client.get("/customers/").status_code == 200
    client.post("/logout", data={"csrf_token": auth.csrf("/customers/")})
    assert client.get("/customers/").status_code == 302  # back to the sign-in page


def test_wrong_password_is_refused(app, client, auth):
    staff(app, "sara@example.com", "onboarding")
    response = auth.login("sara@example.com", "wrong-password")
    assert response.status_code == 401
    assert "Wrong email or password" in response.get_data(as_text=True)


def test_login_brute_force_is_slowed_down(app, client, auth):
    staff(app, "sara@example.com", "onboarding")
    codes = [auth.login("sara@example.com", f"guess-{n}").status_code for n in range(5)]
    assert codes == [401] * 5
    blocked = auth.login("sara@example.com", PASSWORD)  # even the right password waits now
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in blocked.get_data(as_text=True)


def test_login_form_without_csrf_token_is_refused(app, client):
    staff(app, "sara@example.com", "onboarding")
    response = client.post("/login", data={"email": "sara@example.com", "password": PASSWORD})
    assert response.status_code == 400


def test_session_cookie_is_httponly_and_samesite(app, client, auth):
    staff(app, "sara@example.com", "onboarding")
    response = auth.login("sara@example.com")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_secure_cookies_outside_development():
    app = make_app(RETENTION_ENV="production", TESTING=False, SECRET_KEY="x" * 32)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    with app.app_context():
        db.engine.dispose()


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        make_app(RETENTION_ENV="production", TESTING=False)


@pytest.mark.parametrize("role", ["onboarding", "marketing", "print", "admin"])
def test_each_role_sees_only_its_pages(app, client, auth, role):
    staff(app, f"{role}@example.com", role)
    auth.login(f"{role}@example.com")
    for path, allowed in PAGES.items():
        code = client.get(path).status_code
        expected = 200 if role == "admin" or role in allowed else 403
        assert code == expected, (path, role, code)


def test_pages_send_anonymous_visitors_to_sign_in(client):
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_api_requires_a_bearer_token(client):
    response = client.get("/api/v1/customers/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/api/v1/customers/", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_every_route_declares_who_may_use_it(app):
    """No page or API route slips through without a role check."""
    public = {"static", "staff.login", "staff.logout", "staff.home", "hooks.receive_event",
              "api-docs.openapi_json", "survey"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in public or rule.endpoint.startswith("surveys_public."):
            continue
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "required_roles", None), f"{rule.rule} ({rule.endpoint}) has no role check"


def test_openapi_document_lists_the_customer_routes(client):
    spec = client.get("/api/openapi.json").get_json()
    assert "/api/v1/customers/{customer_id}" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
