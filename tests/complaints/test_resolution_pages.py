"""Step 4 on the pages: the case page's solution part, the verification card on My calls, concessions, limits, API."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from retention.complaints.models import Complaint, Concession
from retention.extensions import db
from retention.postal.models import Letter
from tests.complaints.test_resolution import open_case, verifications
from tests.factories import staff, token_for
from tests.journeys.conftest import world  # noqa: F401
from tests.journeys.test_journeys import T0, sell


def csrf(client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def sign_in(auth, client, clock, email: str):
    auth.login(email)
    return csrf(client, "/settings")


def test_record_the_solution_on_the_case_page_and_answer_on_my_calls(app, client, auth, clock, signer, world):
    clock.set(T0)
    sell(client, signer, T0)
    case = open_case(T0)
    owner = case.owner
    token = sign_in(auth, client, clock, owner.email)
    page = client.get(f"/complaints/{case.id}").get_data(as_text=True)
    assert 'id="solution-form"' in page
    # Empty: refused next to the field, nothing changed.
    refused = client.post(f"/complaints/{case.id}/solution", data={"resolution": " ", "csrf_token": token})
    assert refused.status_code == 422
    assert 'id="res-resolution-error"' in refused.get_data(as_text=True)
    assert db.session.get(Complaint, case.id).status == "new"
    done = client.post(f"/complaints/{case.id}/solution", data={"resolution": "A new box", "csrf_token": token})
    assert done.status_code == 303
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "A new box" in page and 'id="verification-call"' in page and 'id="solution-form"' not in page
    [call] = verifications()
    clock.set(call.due_at)
    token = sign_in(auth, client, clock, owner.email)  # days later: the idle session has ended
    calls_page = client.get("/calls/").get_data(as_text=True)
    assert f'data-case="{case.id}"' in calls_page and "A new box" in calls_page and 'name="solution_held"' in calls_page
    # Reached without the answer: refused next to the field, what was typed kept.
    refused = client.post(f"/calls/{call.id}/outcome", data={"outcome": "reached", "notes": "ok now",
                                                              "csrf_token": token})
    assert refused.status_code == 422 and f'id="held-{call.id}-error"' in refused.get_data(as_text=True)
    assert "ok now" in refused.get_data(as_text=True)
    client.post(f"/calls/{call.id}/outcome", data={"outcome": "reached", "solution_held": "yes",
                                                   "csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Complaint, case.id).status == "closed"


def test_concessions_and_apology_on_the_case_page_and_the_admins_list(app, client, auth, clock, signer, world):
    clock.set(T0)
    sell(client, signer, T0)
    case = open_case(T0)
    owner = case.owner
    admin = staff(app, "boss@example.com", "admin", name="Boss")
    token = sign_in(auth, client, clock, admin.email)
    # The admin sets the owner's limit on the staff page.
    assert 'name="limits"' in client.get("/admin/staff/").get_data(as_text=True)
    bad = client.post(f"/complaints/limits/{owner.id}", data={"limits": "USD fifty", "csrf_token": token})
    assert bad.status_code == 422
    client.post(f"/complaints/limits/{owner.id}", data={"limits": "USD 40", "csrf_token": token})
    assert db.session.get(type(owner), owner.id).concession_limits == {"USD": "40.00"}
    client.post("/logout", data={"csrf_token": token})
    token = sign_in(auth, client, clock, owner.email)
    bad = client.post(f"/complaints/{case.id}/concessions", data={"kind": "credit", "amount": "1.234",
                                                                  "csrf_token": token})
    assert bad.status_code == 422 and 'id="res-amount-error"' in bad.get_data(as_text=True)
    assert 'value="1.234"' in bad.get_data(as_text=True)
    client.post(f"/complaints/{case.id}/concessions", data={"kind": "credit", "amount": "40", "csrf_token": token})
    client.post(f"/complaints/{case.id}/concessions", data={"kind": "refund", "amount": "120", "note": "late twice",
                                                            "csrf_token": token})
    assert [c.status for c in db.session.scalars(select(Concession).order_by(Concession.id))] == ["approved", "pending"]
    assert client.post(f"/complaints/{case.id}/apology", data={"csrf_token": token}).status_code == 303
    again = client.post(f"/complaints/{case.id}/apology", data={"csrf_token": token})
    assert again.status_code == 409
    client.post(f"/complaints/{case.id}/apology", data={"again": "1", "csrf_token": token})
    assert len(db.session.scalars(select(Letter).where(Letter.template_key == "apology")).all()) == 2
    assert client.get("/complaints/concessions").status_code == 403
    client.post("/logout", data={"csrf_token": token})
    token = sign_in(auth, client, clock, admin.email)
    listing = client.get("/complaints/concessions").get_data(as_text=True)
    pending = db.session.scalar(select(Concession).where(Concession.status == "pending"))
    assert f'id="concession-{pending.id}"' in listing and "late twice" in listing
    client.post(f"/complaints/concessions/{pending.id}/approve", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Concession, pending.id).status == "approved"
    assert client.post(f"/complaints/concessions/{pending.id}/reject", data={"csrf_token": token}).status_code == 409
    # On the customer's timeline, in the reader's language.
    timeline = client.get(f"/customers/{case.customer.external_id}?lang=ar").get_data(as_text=True)
    from flask_babel import force_locale, gettext
    with force_locale("ar"):
        approved = gettext("Complaint case: concession approved")
        waiting = gettext("Complaint case: concession waiting for an admin")
    assert approved.startswith("ملف الشكوى") and approved in timeline and waiting in timeline


def test_api_solution_concessions_and_decisions(app, client, clock, signer, world):
    clock.set(T0)
    sell(client, signer, T0)
    case = open_case(T0)
    owner = case.owner
    headers = {"Authorization": f"Bearer {token_for(app, owner)}"}
    admin = {"Authorization": f"Bearer {token_for(app, staff(app, 'boss@example.com', 'admin'))}"}
    answer = client.post(f"/api/v1/complaints/{case.id}/solution", json={"resolution": "Refund of shipping"},
                         headers=headers)
    assert answer.status_code == 200 and answer.get_json()["status"] == "solution_offered"
    assert answer.get_json()["verification_touchpoint_id"] == verifications()[0].id
    assert client.post(f"/api/v1/complaints/{case.id}/solution", json={"resolution": "again"},
                       headers=headers).status_code == 409
    made = client.post(f"/api/v1/complaints/{case.id}/concessions", json={"kind": "credit", "amount": "15.50"},
                       headers=headers)
    assert made.status_code == 201 and made.get_json()["status"] == "pending"  # no limit set
    assert made.get_json()["amount"] == "15.50" and made.get_json()["currency"] == "USD"
    refused = client.post(f"/api/v1/complaints/{case.id}/concessions", json={"kind": "refund", "amount": "900"},
                          headers=headers)
    assert refused.status_code == 422 and "amount" in refused.get_json()["message"]
    assert client.post(f"/api/v1/concessions/{made.get_json()['id']}/approve", json={},
                       headers=headers).status_code == 403
    assert [c["id"] for c in client.get("/api/v1/concessions/", headers=admin).get_json()] == [made.get_json()["id"]]
    decided = client.post(f"/api/v1/concessions/{made.get_json()['id']}/reject", json={"note": "not owed"},
                          headers=admin)
    assert decided.status_code == 200 and decided.get_json()["status"] == "rejected"
    assert client.get(f"/api/v1/complaints/{case.id}/concessions", headers=headers).get_json()[0]["status"] == "rejected"
    letter = client.post(f"/api/v1/complaints/{case.id}/apology", json={}, headers=headers)
    assert letter.status_code == 201 and letter.get_json()["template_key"] == "apology"
    assert client.post(f"/api/v1/complaints/{case.id}/apology", json={}, headers=headers).status_code == 409
    # The verification answer through the calls API.
    call = verifications()[0]
    clock.set(call.due_at)
    missing = client.post(f"/api/v1/touchpoints/{call.id}/outcome", json={"outcome": "reached"}, headers=headers)
    assert missing.status_code == 422 and "solution_held" in missing.get_json()["message"]
    held = client.post(f"/api/v1/touchpoints/{call.id}/outcome", json={"outcome": "reached", "solution_held": False},
                       headers=headers)
    assert held.status_code == 200
    db.session.expire_all()
    assert db.session.get(Complaint, case.id).status == "investigating"


def test_a_second_solution_from_a_stale_page_is_refused_with_the_reason_shown(app, client, auth, clock, signer, world):
    clock.set(T0)
    sell(client, signer, T0)
    case = open_case(T0)
    token = sign_in(auth, client, clock, case.owner.email)
    client.post(f"/complaints/{case.id}/solution", data={"resolution": "A new box", "csrf_token": token})
    again = client.post(f"/complaints/{case.id}/solution", data={"resolution": "Another", "csrf_token": token})
    assert again.status_code == 409
    assert "reopen it first" in again.get_data(as_text=True)
    assert len(verifications()) == 1 and db.session.get(Complaint, case.id).resolution == "A new box"


def test_the_customer_page_says_why_a_survey_waits_in_the_readers_language(app, client, auth, clock, signer, world):
    from retention.complaints import resolution, service
    from retention.tick import run as tick

    sell(client, signer, T0)
    case = open_case(T0 + dt.timedelta(days=20))
    tick(T0 + dt.timedelta(days=31))
    case = service.get_case(db.session, case.id, for_update=True)
    resolution.record_solution(db.session, case, "A new box", now=T0 + dt.timedelta(days=31), actor="staff:1")
    db.session.commit()
    tick(T0 + dt.timedelta(days=32, hours=1))
    clock.set(T0 + dt.timedelta(days=32, hours=2))
    sign_in(auth, client, clock, case.owner.email)
    persian = client.get("/customers/C1?lang=fa").get_data(as_text=True)
    assert "در انتظار: تماسی بررسی می‌کند که راه‌حل شکایت جواب داده است یا نه" in persian
    arabic = client.get("/customers/C1?lang=ar").get_data(as_text=True)
    assert "بانتظار: مكالمة ستتحقق من نجاح حل الشكوى" in arabic
