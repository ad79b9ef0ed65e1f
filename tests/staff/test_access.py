"""Staff sign-in, roles on every page and API route, CSRF and brute-force slowing."""
from __future__ import annotations


import pytest

from retention.extensions import db
from tests.conftest import make_app
from tests.factories import PASSWORD, staff



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


def test_api_requires_a_bearer_token(client):
    response = client.get("/api/v1/customers/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/api/v1/customers/", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_every_route_declares_who_may_use_it(app):
    """No page or API route slips through without a role check."""
    public = {"static", "staff.login", "staff.logout", "staff.home", "hooks.receive_event",
              "api-docs.openapi_json",
              "unsubscribe.page",  # a customer's unsubscribe link: its random token is the key (retention/mail)
              "surveys_public.answer", "surveys_public.submit",  # a customer's survey link: its token is the key
              "referral_landing.landing"}  # a friend's referral link /r/<CODE>: the code is the key (retention/referrals)
    # Every exemption names a route that exists: no room kept for pages not built yet (e.g. public surveys).
    assert public <= {rule.endpoint for rule in app.url_map.iter_rules()}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in public:
            continue
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "required_roles", None), f"{rule.rule} ({rule.endpoint}) has no role check"


def test_openapi_document_lists_the_customer_routes(client):
    spec = client.get("/api/openapi.json").get_json()
    assert "/api/v1/customers/{customer_id}" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


# ---------------------------------------------------------------------------------------------------------
# The role table: every route (pages and API) x anonymous and every role, with the expected answer.
# A route added without a row here fails test_every_route_is_in_the_role_table: add its row.
# Ids in the URLs name nothing, so a permitted role gets 404 (or a validation answer) and changes nothing.

ROLES = ("onboarding", "marketing", "print", "admin")
WHO = ("anonymous",) + ROLES
JOURNEY_BODY = {"steps": [{"key": "a", "day_offset": 1, "kind": "call"}], "choice": "keep"}


def page(allowed, ok=200):
    """A staff page: anonymous -> sign-in (302), a role outside `allowed` (admin is always in) -> 403."""
    return {"anonymous": 302, **{r: ok if r == "admin" or r in allowed else 403 for r in ROLES}}


def api(allowed, ok=200):
    """An API route: no token -> 401, a role outside `allowed` -> 403."""
    return {"anonymous": 401, **{r: ok if r == "admin" or r in allowed else 403 for r in ROLES}}


def everyone(code):
    return {who: code for who in WHO}


ONB, MKT, PRT = {"onboarding"}, {"marketing"}, {"print"}
# (method, rule) -> (url, request body (form for pages, JSON for the API), expected answer per role)
ROLE_TABLE = {
    ("GET", "/"): ("/", None, everyone(302)),
    ("GET", "/login"): ("/login", None, everyone(200)),
    ("POST", "/login"): ("/login", {"email": "nobody@example.com", "password": "x"}, everyone(401)),
    ("POST", "/logout"): ("/logout", {}, everyone(302)),
    ("GET", "/static/<path:filename>"): ("/static/app.css", None, everyone(200)),
    ("POST", "/hooks/events"): ("/hooks/events", None, everyone(401)),  # unsigned
    ("GET", "/api/openapi.json"): ("/api/openapi.json", None, everyone(200)),
    # Customers
    ("GET", "/customers/"): ("/customers/", None, page(ONB | MKT | PRT)),
    ("GET", "/customers/<external_id:external_id>"): ("/customers/NOPE/x", None, page(ONB | MKT | PRT, 404)),
    ("GET", "/customers/<external_id:external_id>/contact"): ("/customers/NOPE/contact", None, page(ONB, 404)),
    ("POST", "/customers/<external_id:external_id>/contact"): ("/customers/NOPE/contact", {"phone": "+1"},
                                                               page(ONB, 404)),
    ("GET", "/api/v1/customers/"): ("/api/v1/customers/", None, api(ONB | MKT | PRT)),
    ("GET", "/api/v1/customers/<external_id:customer_id>"): ("/api/v1/customers/NOPE", None,
                                                             api(ONB | MKT | PRT, 404)),
    ("GET", "/api/v1/customers/<external_id:customer_id>/touchpoints"): (
        "/api/v1/customers/NOPE/touchpoints", None, api(ONB | MKT, 404)),
    # Calls
    ("GET", "/calls/"): ("/calls/", None, page(ONB)),
    ("POST", "/calls/<int:touchpoint_id>/outcome"): ("/calls/999/outcome", {"outcome": "reached"}, page(ONB, 404)),
    ("POST", "/calls/<int:touchpoint_id>/snooze"): ("/calls/999/snooze", {"hours": "2"}, page(ONB, 404)),
    ("POST", "/calls/<int:touchpoint_id>/reschedule"): ("/calls/999/reschedule", {"due_at": "2031-01-01T10:00"},
                                                        page(ONB, 404)),
    ("POST", "/calls/reassign"): ("/calls/reassign", {"touchpoint_id": "999", "owner_id": "999"}, page(ONB, 422)),
    ("POST", "/calls/customer/<external_id:external_id>/log"): ("/calls/customer/NOPE/log", {"outcome": "reached"},
                                                                page(ONB, 404)),
    ("POST", "/calls/customer/<external_id:external_id>/note"): ("/calls/customer/NOPE/note", {"note": "x"},
                                                                 page(ONB, 404)),
    ("POST", "/calls/customer/<external_id:external_id>/schedule"): (
        "/calls/customer/NOPE/schedule", {"purpose": "follow_up"}, page(ONB, 404)),
    ("GET", "/api/v1/touchpoints/"): ("/api/v1/touchpoints/", None, api(ONB | MKT)),
    ("POST", "/api/v1/touchpoints/<int:touchpoint_id>/outcome"): ("/api/v1/touchpoints/999/outcome",
                                                                  {"outcome": "reached"}, api(ONB, 404)),
    # Journeys
    ("GET", "/journeys/"): ("/journeys/", None, page(MKT)),
    ("GET", "/journeys/<key>/edit"): ("/journeys/nope/edit", None, page(MKT, 404)),
    ("POST", "/journeys/<key>/edit"): ("/journeys/nope/edit", {}, page(MKT, 404)),
    ("GET", "/journeys/<key>/versions"): ("/journeys/nope/versions", None, page(MKT, 404)),
    ("POST", "/enrollments/<int:enrollment_id>/<action>"): ("/enrollments/999/pause", {}, page(ONB, 404)),
    ("POST", "/touchpoints/<int:touchpoint_id>/skip"): ("/touchpoints/999/skip", {}, page(ONB, 404)),
    ("GET", "/reports/work"): ("/reports/work", None, page(ONB | MKT)),
    ("POST", "/api/v1/enrollments/<int:enrollment_id>/<any(pause, resume):action>"): (
        "/api/v1/enrollments/999/pause", None, api(ONB, 404)),
    ("GET", "/api/v1/journeys/"): ("/api/v1/journeys/", None, api(ONB | MKT)),
    ("GET", "/api/v1/journeys/<key>"): ("/api/v1/journeys/nope", None, api(ONB | MKT, 404)),
    ("PUT", "/api/v1/journeys/<key>"): ("/api/v1/journeys/nope", JOURNEY_BODY, api(set(), 404)),
    ("GET", "/api/v1/journeys/<key>/impact"): ("/api/v1/journeys/nope/impact", None, api(set(), 404)),
    ("POST", "/api/v1/journeys/<key>/impact"): ("/api/v1/journeys/nope/impact", {"steps": JOURNEY_BODY["steps"]},
                                                api(set(), 404)),
    # Letters and the mail room
    ("GET", "/letters/"): ("/letters/", None, page(PRT)),
    ("GET", "/letters/<int:letter_id>.pdf"): ("/letters/999.pdf", None, page(PRT | MKT | ONB, 404)),
    ("POST", "/letters/<int:letter_id>/returned"): ("/letters/999/returned", {}, page(PRT, 404)),
    ("GET", "/letters/<int:letter_id>/return"): ("/letters/999/return", None, page(PRT, 404)),
    ("POST", "/letters/<int:letter_id>/undo-return"): ("/letters/999/undo-return", {}, page(PRT, 404)),
    ("POST", "/letters/<int:letter_id>/reprint"): ("/letters/999/reprint", {}, page(PRT, 404)),
    ("GET", "/letters/returned"): ("/letters/returned", None, page(PRT)),
    ("GET", "/letters/find"): ("/letters/find?ref=L-000999", None, page(PRT, 303)),  # no such letter: back, said so
    ("POST", "/letters/batches"): ("/letters/batches", {"status": "nope"}, page(PRT, 303)),  # refused, shown
    ("GET", "/letters/batches/<int:batch_id>"): ("/letters/batches/999", None, page(PRT, 404)),
    ("GET", "/letters/batches/<int:batch_id>/status"): ("/letters/batches/999/status", None, page(PRT, 404)),
    ("GET", "/letters/batches/<int:batch_id>/<any(pdf, manifest):kind>"): ("/letters/batches/999/pdf", None,
                                                                          page(PRT, 404)),
    ("POST", "/letters/batches/<int:batch_id>/<any(printed, mailed, rebuild):action>"): (
        "/letters/batches/999/printed", {}, page(PRT, 404)),
    ("GET", "/letters/templates/"): ("/letters/templates/", None, page(MKT)),
    ("GET", "/letters/templates/<key>/<language>"): ("/letters/templates/nope/xx", None, page(MKT, 404)),
    ("POST", "/letters/templates/<key>/<language>"): ("/letters/templates/nope/xx", {}, page(MKT, 404)),
    ("POST", "/letters/templates/<key>/<language>/preview"): ("/letters/templates/nope/xx/preview", {},
                                                              page(MKT, 422)),
    ("GET", "/letters/templates/<key>/<language>/versions"): ("/letters/templates/nope/en/versions", None,
                                                             page(MKT, 404)),
    ("POST", "/letters/templates/<key>/<language>/versions/<int:version>/restore"): (
        "/letters/templates/nope/en/versions/1/restore", {}, page(MKT, 404)),
    ("GET", "/api/v1/letter-templates/"): ("/api/v1/letter-templates/", None, api(MKT)),
    ("GET", "/api/v1/letter-templates/<key>/<language>"): ("/api/v1/letter-templates/nope/xx", None,
                                                           api(MKT, 404)),
    ("PUT", "/api/v1/letter-templates/<key>/<language>"): ("/api/v1/letter-templates/nope/xx", {}, api(MKT, 422)),
    ("GET", "/api/v1/letters/"): ("/api/v1/letters/", None, api(PRT | MKT)),
    ("GET", "/api/v1/letters/<int:letter_id>/pdf"): ("/api/v1/letters/999/pdf", None, api(PRT | MKT, 404)),
    ("POST", "/api/v1/letters/<int:letter_id>/reprint"): ("/api/v1/letters/999/reprint", None, api(PRT, 404)),
    ("POST", "/api/v1/letters/<int:letter_id>/returned"): ("/api/v1/letters/999/returned", {"reason": "moved"},
                                                           api(PRT, 404)),
    ("POST", "/api/v1/letters/<int:letter_id>/undo-return"): ("/api/v1/letters/999/undo-return", None,
                                                              api(PRT, 404)),
    ("GET", "/api/v1/letters/returned"): ("/api/v1/letters/returned", None, api(PRT)),
    ("POST", "/api/v1/print-batches/"): ("/api/v1/print-batches/", {"status": "nope"}, api(PRT, 422)),
    ("GET", "/api/v1/print-batches/<int:batch_id>"): ("/api/v1/print-batches/999", None, api(PRT, 404)),
    ("GET", "/api/v1/print-batches/<int:batch_id>/<any(pdf, manifest):kind>"): (
        "/api/v1/print-batches/999/pdf", None, api(PRT, 404)),
    ("POST", "/api/v1/print-batches/<int:batch_id>/<any(printed, mailed, rebuild):action>"): (
        "/api/v1/print-batches/999/printed", None, api(PRT, 404)),
    # Admin
    ("GET", "/admin/events/"): ("/admin/events/", None, page(set())),
    ("POST", "/admin/events/<int:event_id>/replay"): ("/admin/events/999/replay", {}, page(set(), 404)),
    ("GET", "/admin/events/<int:event_id>"): ("/admin/events/999", None, page(set(), 404)),
    ("POST", "/admin/staff/<int:user_id>/languages"): ("/admin/staff/999/languages", {"languages": "fa"},
                                                       page(set(), 404)),
    # Everyone's own settings (refused: no such language; nothing changes)
    ("GET", "/settings"): ("/settings", None, page(ONB | MKT | PRT)),
    ("POST", "/settings"): ("/settings", {"locale": "xx"}, page(ONB | MKT | PRT, 422)),
    ("GET", "/admin/staff/"): ("/admin/staff/", None, page(set())),
    # Staff absences (retention/staff/absences.py): admins for anyone, everyone for themselves
    ("GET", "/admin/staff/<int:user_id>"): ("/admin/staff/999", None, page(set(), 404)),
    ("POST", "/admin/staff/<int:user_id>/absences"): ("/admin/staff/999/absences",
                                                      {"starts_on": "2026-03-02", "ends_on": "2026-03-03"},
                                                      page(set(), 404)),
    ("POST", "/admin/staff/<int:user_id>/absences/<int:absence_id>/cancel"): (
        "/admin/staff/999/absences/999/cancel", {}, page(set(), 404)),
    ("POST", "/settings/absences"): ("/settings/absences", {"starts_on": "nope", "ends_on": ""},
                                     page(ONB | MKT | PRT, 422)),
    ("POST", "/settings/absences/<int:absence_id>/cancel"): ("/settings/absences/999/cancel", {},
                                                             page(ONB | MKT | PRT, 404)),
    ("GET", "/api/v1/staff/<int:staff_id>/absences"): ("/api/v1/staff/999/absences", None, api(set(), 404)),
    ("POST", "/api/v1/staff/<int:staff_id>/absences"): ("/api/v1/staff/999/absences",
                                                        {"starts_on": "2026-03-02", "ends_on": "2026-03-03"},
                                                        api(set(), 404)),
    ("DELETE", "/api/v1/staff/<int:staff_id>/absences/<int:absence_id>"): ("/api/v1/staff/999/absences/999", None,
                                                                          api(set(), 404)),
    ("POST", "/admin/staff/<int:user_id>/deactivate"): ("/admin/staff/999/deactivate", {}, page(set(), 404)),
    ("POST", "/admin/staff/<int:user_id>/reactivate"): ("/admin/staff/999/reactivate", {}, page(set(), 404)),
    ("POST", "/admin/staff/<int:user_id>/role"): ("/admin/staff/999/role", {"role": "print"}, page(set(), 404)),
    ("POST", "/admin/staff/<int:user_id>/password"): ("/admin/staff/999/password", {"password": "x" * 20},
                                                      page(set(), 404)),
    ("GET", "/admin/tokens/"): ("/admin/tokens/", None, page(set())),
    ("POST", "/admin/tokens/"): ("/admin/tokens/", {"user_id": "999"}, page(set(), 422)),
    ("POST", "/admin/tokens/<int:token_id>/revoke"): ("/admin/tokens/999/revoke", {}, page(set(), 404)),
    ("POST", "/admin/tokens/<int:token_id>/expire"): ("/admin/tokens/999/expire", {}, page(set(), 404)),
    # Complaint cases, customer types, categories (complaints/views.py, complaints/api.py)
    ("GET", "/complaints/"): ("/complaints/", None, page(ONB)),
    ("GET", "/complaints/new/<external_id:external_id>"): ("/complaints/new/NOPE", None, page(ONB, 404)),
    ("POST", "/complaints/new/<external_id:external_id>"): ("/complaints/new/NOPE", {"channel": "phone"},
                                                            page(ONB, 404)),
    ("GET", "/complaints/<int:case_id>"): ("/complaints/999", None, page(ONB, 404)),
    ("POST", "/complaints/<int:case_id>/status"): ("/complaints/999/status", {"status": "closed"}, page(ONB, 404)),
    ("POST", "/complaints/<int:case_id>/reopen"): ("/complaints/999/reopen", {}, page(ONB, 404)),
    ("POST", "/complaints/<int:case_id>/assign"): ("/complaints/999/assign", {"owner_id": "1"}, page(ONB, 404)),
    ("POST", "/complaints/<int:case_id>/answers"): ("/complaints/999/answers", {"answer-when": "x"}, page(ONB, 404)),
    ("POST", "/complaints/<int:case_id>/type"): ("/complaints/999/type", {"customer_type": "meek"}, page(ONB, 404)),
    ("POST", "/complaints/customer/<external_id:external_id>/type"): (
        "/complaints/customer/NOPE/type", {"customer_type": "meek"}, page(ONB, 404)),
    ("GET", "/admin/complaint-categories/"): ("/admin/complaint-categories/", None, page(set())),
    ("GET", "/admin/complaint-categories/new"): ("/admin/complaint-categories/new", None, page(set())),
    ("POST", "/admin/complaint-categories/new"): ("/admin/complaint-categories/new", {"key": ""}, page(set(), 422)),
    ("GET", "/admin/complaint-categories/<int:category_id>"): ("/admin/complaint-categories/999", None,
                                                               page(set(), 404)),
    ("POST", "/admin/complaint-categories/<int:category_id>"): ("/admin/complaint-categories/999", {},
                                                                page(set(), 404)),
    ("GET", "/api/v1/complaints/"): ("/api/v1/complaints/", None, api(ONB)),
    ("POST", "/api/v1/complaints/"): ("/api/v1/complaints/", {"customer_id": "NOPE", "channel": "phone",
                                                             "category": "delivery", "summary": "x"}, api(ONB, 422)),
    ("GET", "/api/v1/complaints/<int:case_id>"): ("/api/v1/complaints/999", None, api(ONB, 404)),
    ("POST", "/api/v1/complaints/<int:case_id>/status"): ("/api/v1/complaints/999/status", {"status": "closed"},
                                                          api(ONB, 404)),
    ("POST", "/api/v1/complaints/<int:case_id>/reopen"): ("/api/v1/complaints/999/reopen", {}, api(ONB, 404)),
    ("POST", "/api/v1/complaints/<int:case_id>/assign"): ("/api/v1/complaints/999/assign",
                                                          {"owner": "a@example.com"}, api(ONB, 404)),
    ("GET", "/api/v1/customers/<external_id:customer_id>/type"): ("/api/v1/customers/NOPE/type", None,
                                                                  api(ONB, 404)),
    ("PUT", "/api/v1/customers/<external_id:customer_id>/type"): ("/api/v1/customers/NOPE/type",
                                                                  {"customer_type": "meek"}, api(ONB, 404)),
    ("GET", "/api/v1/complaint-categories/"): ("/api/v1/complaint-categories/", None, api(ONB)),
    ("POST", "/api/v1/complaint-categories/"): ("/api/v1/complaint-categories/", {"key": "x"}, api(set(), 422)),
    ("PUT", "/api/v1/complaint-categories/<int:category_id>"): ("/api/v1/complaint-categories/999",
                                                                {"names": {"en": "X"}}, api(set(), 404)),
    # Email (retention/mail): the customer's unsubscribe link (no sign-in; an unknown token is 404 for all),
    # the admin's outbox, opt-outs on the customer page
    ("GET", "/unsubscribe/<token>"): ("/unsubscribe/nope", None, everyone(404)),
    ("POST", "/unsubscribe/<token>"): ("/unsubscribe/nope", {}, everyone(404)),
    # NPS surveys (retention/surveys): the customer's survey page (no sign-in; a wrong token gets the closed page,
    # 404 for all), marketing's report and CSV, the API (surveys and responses also for onboarding)
    ("GET", "/s/<survey_token>"): ("/s/nope-nope-nope-nope", None, everyone(404)),
    ("POST", "/s/<survey_token>"): ("/s/nope-nope-nope-nope", {"score": "5"}, everyone(404)),
    ("GET", "/surveys/reports"): ("/surveys/reports", None, page(MKT)),
    ("GET", "/surveys/reports/responses.csv"): ("/surveys/reports/responses.csv", None, page(MKT)),
    ("GET", "/api/v1/surveys/"): ("/api/v1/surveys/", None, api(MKT | ONB)),
    ("GET", "/api/v1/surveys/<int:survey_id>"): ("/api/v1/surveys/999", None, api(MKT | ONB, 404)),
    ("GET", "/api/v1/nps/responses"): ("/api/v1/nps/responses", None, api(MKT | ONB)),
    ("GET", "/api/v1/nps/figures"): ("/api/v1/nps/figures", None, api(MKT)),
    # Referrals (retention/referrals): marketing's programs with the preview, report and payout CSV, the API; a
    # friend's landing page of a code (no sign-in; an unknown code is 404 for all)
    ("GET", "/referrals/"): ("/referrals/", None, page(MKT)),
    ("GET", "/referrals/programs/new"): ("/referrals/programs/new", None, page(MKT)),
    ("POST", "/referrals/programs/new"): ("/referrals/programs/new", {}, page(MKT, 422)),
    ("GET", "/referrals/programs/<int:program_id>"): ("/referrals/programs/999", None, page(MKT, 404)),
    ("POST", "/referrals/programs/<int:program_id>"): ("/referrals/programs/999", {}, page(MKT, 404)),
    ("POST", "/referrals/programs/<int:program_id>/delete"): ("/referrals/programs/999/delete", {}, page(MKT, 404)),
    ("GET", "/referrals/reports"): ("/referrals/reports", None, page(MKT)),
    ("GET", "/referrals/reports/payout.csv"): ("/referrals/reports/payout.csv", None, page(MKT)),
    ("GET", "/r/<code>"): ("/r/NOPE2345", None, everyone(404)),
    ("GET", "/api/v1/referral-programs/"): ("/api/v1/referral-programs/", None, api(MKT)),
    ("POST", "/api/v1/referral-programs/"): ("/api/v1/referral-programs/", {}, api(MKT, 422)),
    ("POST", "/api/v1/referral-programs/preview"): ("/api/v1/referral-programs/preview", {}, api(MKT, 422)),
    ("GET", "/api/v1/referral-programs/<int:program_id>"): ("/api/v1/referral-programs/999", None, api(MKT, 404)),
    ("PUT", "/api/v1/referral-programs/<int:program_id>"): ("/api/v1/referral-programs/999", {}, api(MKT, 422)),
    ("DELETE", "/api/v1/referral-programs/<int:program_id>"): ("/api/v1/referral-programs/999", None,
                                                               api(MKT, 404)),
    ("GET", "/api/v1/referral-offers/"): ("/api/v1/referral-offers/", None, api(MKT)),
    ("GET", "/api/v1/referrals/"): ("/api/v1/referrals/", None, api(MKT)),
    ("GET", "/api/v1/referral-ledger/"): ("/api/v1/referral-ledger/", None, api(MKT)),
    ("GET", "/admin/outbox/"): ("/admin/outbox/", None, page(set())),
    ("GET", "/admin/outbox/<int:email_id>"): ("/admin/outbox/999", None, page(set(), 404)),
    ("POST", "/admin/outbox/<int:email_id>/retry"): ("/admin/outbox/999/retry", {}, page(set(), 404)),
    ("POST", "/customers/<external_id:external_id>/opt-outs"): (
        "/customers/NOPE/opt-outs", {"channel": "email", "action": "out"}, page(ONB, 404)),
    # Complaints step 4: solution, verification, apology, concessions (complaints/resolution_views.py, resolution_api.py)
    ("POST", "/complaints/<int:case_id>/solution"): ("/complaints/999/solution", {"resolution": "x"}, page(ONB, 404)),
    ("POST", "/complaints/<int:case_id>/verification"): ("/complaints/999/verification", {}, page(ONB, 404)),
    ("POST", "/complaints/<int:case_id>/apology"): ("/complaints/999/apology", {}, page(ONB, 404)),
    ("POST", "/complaints/<int:case_id>/concessions"): ("/complaints/999/concessions", {"kind": "credit"},
                                                        page(ONB, 404)),
    ("GET", "/complaints/concessions"): ("/complaints/concessions", None, page(set())),
    ("POST", "/complaints/concessions/<int:concession_id>/approve"): ("/complaints/concessions/999/approve", {},
                                                                      page(set(), 404)),
    ("POST", "/complaints/concessions/<int:concession_id>/reject"): ("/complaints/concessions/999/reject", {},
                                                                     page(set(), 404)),
    ("POST", "/complaints/limits/<int:user_id>"): ("/complaints/limits/999", {"limits": ""}, page(set(), 404)),
    ("POST", "/api/v1/complaints/<int:case_id>/solution"): ("/api/v1/complaints/999/solution", {"resolution": "x"},
                                                            api(ONB, 404)),
    ("POST", "/api/v1/complaints/<int:case_id>/apology"): ("/api/v1/complaints/999/apology", {}, api(ONB, 404)),
    ("GET", "/api/v1/complaints/<int:case_id>/concessions"): ("/api/v1/complaints/999/concessions", None,
                                                              api(ONB, 404)),
    ("POST", "/api/v1/complaints/<int:case_id>/concessions"): ("/api/v1/complaints/999/concessions",
                                                               {"kind": "credit", "amount": "5"}, api(ONB, 404)),
    ("GET", "/api/v1/concessions/"): ("/api/v1/concessions/", None, api(set())),
    ("POST", "/api/v1/concessions/<int:concession_id>/approve"): ("/api/v1/concessions/999/approve", {},
                                                                  api(set(), 404)),
    ("POST", "/api/v1/concessions/<int:concession_id>/reject"): ("/api/v1/concessions/999/reject", {},
                                                                 api(set(), 404)),
    # Complaints steps 3 and 5: queue, take-over, notices, trends, figures (complaints/reports_views.py, figures_api.py)
    ("GET", "/complaints/queue"): ("/complaints/queue", None, page(ONB)),
    ("POST", "/complaints/<int:case_id>/take-over"): ("/complaints/999/take-over", {}, page(ONB, 404)),
    ("POST", "/complaints/notices/<int:notice_id>/seen"): ("/complaints/notices/999/seen", {}, page(ONB, 404)),
    ("GET", "/complaints/trends"): ("/complaints/trends", None, page(ONB | MKT)),
    ("GET", "/api/v1/complaints/queue"): ("/api/v1/complaints/queue", None, api(ONB)),
    ("GET", "/api/v1/complaints/figures"): ("/api/v1/complaints/figures", None, api(ONB | MKT)),
}


def _routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule.rule


def test_every_route_is_in_the_role_table(app):
    missing = sorted(set(_routes(app)) - set(ROLE_TABLE))
    assert not missing, f"routes without a row in ROLE_TABLE (tests/staff/test_access.py): {missing}"
    stale = sorted(set(ROLE_TABLE) - set(_routes(app)))
    assert not stale, f"rows for routes that no longer exist: {stale}"


@pytest.mark.parametrize("who", WHO)
def test_role_table(app, client, auth, who):
    """Walk every route as `who` and compare each answer with the table."""
    from tests.factories import token_for

    bearer = {}
    if who != "anonymous":
        user = staff(app, f"{who}@example.com", who)
        bearer = {"Authorization": f"Bearer {token_for(app, user)}"}
        auth.login(f"{who}@example.com")
        token = auth.csrf(client.get("/", follow_redirects=True).request.path)
    else:
        token = auth.csrf("/login")
    wrong = []
    for (method, rule), (url, body, expected) in ROLE_TABLE.items():
        if url.startswith("/api/v1/"):
            response = client.open(url, method=method, headers=bearer, json=body)
        elif method == "POST" and body is not None:
            response = client.open(url, method=method, data={**body, "csrf_token": token})
        else:
            response = client.open(url, method=method)
        if response.status_code != expected[who]:
            wrong.append(f"{method} {url}: {response.status_code}, expected {expected[who]}")
        if (method, rule) == ("POST", "/logout") and who != "anonymous":
            auth.login(f"{who}@example.com")  # signed out by the row above: sign in again
            token = auth.csrf(client.get("/", follow_redirects=True).request.path)
    assert not wrong, "\n".join(wrong)
