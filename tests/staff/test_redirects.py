"""Open redirects: only same-site paths are followed, after sign-in, after a call outcome, after returned mail."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from retention.customers.models import Customer
from retention.extensions import db
from retention.journeys.models import Touchpoint
from retention.journeys.service import ensure_default_journey
from retention.postal.models import Letter
from retention.postal.service import ensure_default_templates
from retention.staff.redirects import is_same_site_path, safe_next
from retention.tick import run as tick
from tests.factories import sale_completed, staff

UTC = dt.timezone.utc

ELSEWHERE = [
    "https://evil.example/", "//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example",
    "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", " //evil.example", "/%09/evil.example",
    "/%2F/evil.example", "/%5Cevil.example", "/%252F%252Fevil.example", "%2F%2Fevil.example",
    "javascript:alert(1)", "evil.example", "http:/evil.example", "/x\x00y", "", None, "/" + "a" * 3000,
    "/\u2028/evil.example", "/\u00a0/evil.example",
]


@pytest.mark.parametrize("target", ELSEWHERE)
def test_targets_that_could_leave_the_site_are_refused(target):
    assert not is_same_site_path(target)
    assert safe_next(target, "/home") == "/home"


@pytest.mark.parametrize("target", ["/calls/", "/customers/?q=Layla&page=2", "/customers/C%2F1", "/letters/#x"])
def test_same_site_paths_are_kept(target):
    assert safe_next(target, "/home") == target


def _location(response) -> str:
    return response.headers.get("Location", "")


@pytest.mark.parametrize("next_value", ["/%09/evil.example", "https://evil.example/", "//evil.example",
                                        "/%0d%0aSet-Cookie:x=1", "/%5Cevil.example", "%2F%2Fevil.example"])
def test_sign_in_never_sends_staff_to_another_site(app, client, auth, next_value):
    staff(app, "sara@example.com", "onboarding")
    response = client.post(f"/login?next={next_value}",
                           data={"email": "sara@example.com", "password": "correct-horse-battery",
                                 "csrf_token": auth.csrf()})
    assert response.status_code in (302, 400), response.status_code  # 400: control characters refused at the door
    location = _location(response)
    assert "evil" not in location and "Set-Cookie" not in response.headers.get("Location", "")
    if response.status_code == 302:
        assert location.startswith("/") and not location.startswith("//")


def test_sign_in_follows_a_same_site_next(app, client, auth):
    staff(app, "sara@example.com", "onboarding")
    response = client.post("/login?next=/customers/%3Fq%3DLayla",
                           data={"email": "sara@example.com", "password": "correct-horse-battery",
                                 "csrf_token": auth.csrf()})
    assert response.status_code == 302 and _location(response) == "/customers/?q=Layla"


@pytest.fixture
def a_call(app, client, signer):
    """Sara owns a due check-in call."""
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    ensure_default_journey(db.session, start)
    ensure_default_templates(db.session, start)
    sara = staff(app, "sara@example.com", "onboarding", timezone="Europe/Berlin")
    db.session.commit()
    sold = dt.datetime.now(UTC) - dt.timedelta(days=3)
    signer.post(client, sale_completed(occurred_at=sold))
    tick(dt.datetime.now(UTC))
    call = db.session.scalar(select(Touchpoint).where(Touchpoint.owner_id == sara.id, Touchpoint.kind == "call"))
    assert call is not None
    return call


@pytest.mark.parametrize("next_value,expected", [("https://evil.example/", "/calls/"),
                                                 ("//evil.example/", "/calls/"),
                                                 ("/customers/C1", "/customers/C1")])
def test_call_outcome_form_follows_only_same_site_next(app, client, auth, a_call, next_value, expected):
    auth.login("sara@example.com")
    response = client.post(f"/calls/{a_call.id}/outcome",
                           data={"csrf_token": auth.csrf("/calls/"), "outcome": "reached", "next": next_value})
    assert response.status_code == 302
    assert _location(response) == expected


def test_returned_mail_redirects_only_to_a_page_of_this_site(app, client, auth, signer, queue):
    staff(app, "post@example.com", "print")
    signer.post(client, sale_completed())
    queue.drain()

    customer = db.session.scalar(select(Customer))
    letter = Letter(customer_id=customer.id, template_key="thank_you", language="en", status="queued",
                    created_at=dt.datetime.now(UTC))
    db.session.add(letter)
    db.session.commit()
    auth.login("post@example.com")
    token = auth.csrf("/letters/")
    for referer in ("https://evil.example/letters/", "http://localhost.evil.example/x",
                    "http://localhost/letters/batches/7"):
        response = client.post(f"/letters/{letter.id}/returned", data={"csrf_token": token, "reason": "moved"},
                               headers={"Referer": referer})
        # a queued letter cannot come back: refused on the form itself (409, the message shown), sent nowhere
        assert response.status_code == 409 and "Location" not in response.headers, referer
        assert "only a printed or mailed letter can come back" in response.get_data(as_text=True)
    # where a recorded return goes back to (same site only): tests/postal/test_batches.py
