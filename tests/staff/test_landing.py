"""Each role lands on its own work (issue 9, item 7), after sign-in and on "/"; error pages speak to people,
in their language, and lead back to their start page."""
from __future__ import annotations

import pytest

from tests.conftest import Auth
from tests.factories import staff

START = {"onboarding": "/calls/", "marketing": "/letters/templates/", "print": "/letters/", "admin": "/admin/events/"}


@pytest.mark.parametrize("role", sorted(START))
def test_each_role_lands_on_its_work(app, client, role):
    staff(app, f"{role}@example.com", role)
    signed_in = Auth(client).login(f"{role}@example.com")
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == START[role]
    home = client.get("/")
    assert home.status_code == 302 and home.headers["Location"] == START[role]
    assert client.get(START[role]).status_code == 200


def test_the_mail_room_never_lands_on_customers(app, client):
    staff(app, "post@example.com", "print")
    Auth(client).login("post@example.com")
    landed = client.get("/", follow_redirects=True)
    assert landed.request.path == "/letters/" and not landed.request.path.startswith("/customers")


def test_a_next_page_still_wins_after_sign_in(app, client):
    staff(app, "post@example.com", "print")
    response = client.post("/login?next=/letters/templates/", data={
        "email": "post@example.com", "password": "correct-horse-battery", "csrf_token": Auth(client).csrf()})
    assert response.headers["Location"] == "/letters/templates/"


def test_login_page_in_the_browsers_language_and_with_a_language_choice(client):
    page = client.get("/login", headers={"Accept-Language": "fa-IR,fa;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="fa" dir="rtl">' in page and "ورود" in page and "Sign in" not in page
    assert 'href="/login?lang=ar"' in page and "English" in page
    arabic = client.get("/login?lang=ar").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in arabic and "Password" not in arabic


def test_wrong_password_and_too_many_attempts_in_the_visitors_language(app, client):
    staff(app, "sara@example.com", "onboarding")
    auth = Auth(client)
    headers = {"Accept-Language": "ar"}
    for n in range(5):
        wrong = client.post("/login", headers=headers, data={"email": "sara@example.com", "password": f"x{n}",
                                                               "csrf_token": auth.csrf()})
        assert wrong.status_code == 401
    text = wrong.get_data(as_text=True)
    assert "Wrong email or password" not in text and "البريد الإلكتروني أو كلمة المرور غير صحيحة" in text
    assert 'value="sara@example.com"' in text  # what was typed stays
    blocked = client.post("/login", headers=headers, data={"email": "sara@example.com", "password": "x",
                                                            "csrf_token": auth.csrf()})
    assert blocked.status_code == 429 and "Too many" not in blocked.get_data(as_text=True)
    assert "محاولات" in blocked.get_data(as_text=True)


def test_signing_out_returns_to_sign_in_in_the_same_language(app, client):
    staff(app, "sara@example.com", "onboarding", locale="fa")
    auth = Auth(client)
    auth.login("sara@example.com")
    out = client.post("/logout", data={"csrf_token": auth.csrf("/calls/")})
    assert out.headers["Location"] == "/login?lang=fa"
    page = client.get(out.headers["Location"]).get_data(as_text=True)
    assert "از حساب خارج شدید" in page and "Signed out" not in page


def test_forbidden_page_speaks_the_users_language_and_leads_to_their_start_page(app, client):
    staff(app, "post@example.com", "print", locale="fa")
    Auth(client).login("post@example.com")
    response = client.get("/admin/staff/")
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "به این صفحه دسترسی ندارید" in page and "Forbidden" not in page and "access" not in page
    assert 'href="/letters/"' in page and "دسته‌های چاپ" in page  # their own start page, by name


@pytest.mark.parametrize("language, title", [("en", "We can't find this page"), ("ar", "لم نجد هذه الصفحة"),
                                             ("fa", "این صفحه را پیدا نکردیم")])
def test_not_found_in_the_browsers_language_for_visitors(client, language, title):
    response = client.get("/no/such/page", headers={"Accept-Language": language})
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and title in page
    assert 'href="/login"' in page
    if language != "en":
        assert "Not Found" not in page and "requested URL" not in page


def test_every_error_page_has_words_for_people(app, client):
    from flask import abort

    from retention.i18n import babel  # noqa: F401  (the app already has it)

    codes = (400, 403, 404, 405, 409, 413, 429, 500)
    for code in codes:
        app.add_url_rule(f"/boom/{code}", f"boom_{code}", lambda code=code: abort(code))
    for code in codes:
        for language in ("en", "ar", "fa"):
            response = client.get(f"/boom/{code}", headers={"Accept-Language": language})
            page = response.get_data(as_text=True)
            assert response.status_code == code
            assert f'<html lang="{language}"' in page
            # no framework text: the English sentences werkzeug would have shown
            assert "The server" not in page and "The browser" not in page and "requested URL" not in page
            if language != "en":
                assert "Something went wrong" not in page and "Sign in" not in page


def test_a_page_that_breaks_shows_a_calm_500(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.add_url_rule("/explode", "explode", lambda: 1 / 0)
    response = app.test_client().get("/explode", headers={"Accept-Language": "fa"})
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and "ZeroDivisionError" not in page
    assert "مشکلی از طرف ما پیش آمد" in page


def test_a_visitor_sent_to_sign_in_is_told_why_in_their_language(client):
    page = client.get("/calls/", headers={"Accept-Language": "fa"}, follow_redirects=True).get_data(as_text=True)
    assert "برای دیدن این صفحه وارد شوید." in page and "Please log in" not in page
