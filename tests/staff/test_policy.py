"""Who sees what of a customer, and who may act on a call (retention/staff/policy.py), through pages and API."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from retention.audit.models import AuditEntry
from retention.calls.models import CallAttempt
from retention.extensions import db
from retention.journeys.models import Touchpoint
from retention.journeys.service import ensure_default_journey
from retention.postal.service import ensure_default_templates
from retention.tick import run as tick
from tests.factories import customer, event, sale_completed, staff, token_for

UTC = dt.timezone.utc
COMPLAINT = "The box arrived crushed and wet"
RESOLUTION = "Replacement sent by courier"
NPS_COMMENT = "Slow delivery, rude driver"
CALL_NOTES = "Asked us not to call before noon"


def _bearer(app, user):
    return {"Authorization": f"Bearer {token_for(app, user)}"}


@pytest.fixture
def world(app, client, signer):
    """Customer C1 with a sale, a resolved complaint, an NPS comment and a call owned by Sara (with notes)."""
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    ensure_default_journey(db.session, start)
    ensure_default_templates(db.session, start)
    people = {role: staff(app, f"{role}@example.com", role) for role in ("marketing", "print", "admin")}
    people["sara"] = staff(app, "sara@example.com", "onboarding", timezone="Europe/Berlin")
    people["omar"] = staff(app, "omar@example.com", "onboarding")
    db.session.commit()
    sold = dt.datetime.now(UTC) - dt.timedelta(days=3)
    signer.post(client, sale_completed(occurred_at=sold, cust=customer("C1", email="layla@example.net")))
    signer.post(client, event("complaint.opened", {"complaint_id": "K1", "customer_id": "C1", "channel": "phone",
                                                   "category": "delivery", "summary": COMPLAINT},
                              occurred_at=sold + dt.timedelta(hours=1)))
    signer.post(client, event("complaint.resolved", {"complaint_id": "K1", "resolution": RESOLUTION},
                              occurred_at=sold + dt.timedelta(hours=2)))
    signer.post(client, event("nps.response", {"customer_id": "C1", "score": 4, "comment": NPS_COMMENT},
                              occurred_at=sold + dt.timedelta(hours=3)))
    tick(dt.datetime.now(UTC))
    call = db.session.scalar(select(Touchpoint).where(Touchpoint.owner_id == people["sara"].id,
                                                      Touchpoint.kind == "call"))
    assert call is not None
    answer = client.post(f"/api/v1/touchpoints/{call.id}/outcome", headers=_bearer(app, people["sara"]),
                         json={"outcome": "no_answer", "notes": CALL_NOTES})
    assert answer.status_code == 200, answer.get_json()
    return {"call_id": call.id, **people}


def _page_as(client, auth, email):
    auth.login(email)
    response = client.get("/customers/C1")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_onboarding_and_admin_see_the_whole_customer(app, client, auth, world):
    for email in ("omar@example.com", "admin@example.com"):
        page = _page_as(client, auth, email)
        for text in (COMPLAINT, RESOLUTION, NPS_COMMENT, CALL_NOTES, "layla@example.net", "Espresso machine Pro",
                     "Sheikh Zayed Road 12"):
            assert text in page, (email, text)


def test_marketing_sees_scores_and_categories_but_no_private_text(app, client, auth, world):
    page = _page_as(client, auth, "marketing@example.com")
    assert "Complaint opened" in page and "<bdi>delivery</bdi> · <bdi>by phone</bdi>" in page
    assert "Score 4 of 10" in page
    assert "Call: no answer" in page and "Espresso machine Pro" in page
    for text in (COMPLAINT, RESOLUTION, NPS_COMMENT, CALL_NOTES):
        assert text not in page, text


def test_the_mail_room_sees_names_and_addresses_only(app, client, auth, world):
    page = _page_as(client, auth, "print@example.com")
    assert "Layla Haddad" in page and "Sheikh Zayed Road 12" in page and "Dubai" in page
    for text in (COMPLAINT, RESOLUTION, NPS_COMMENT, CALL_NOTES, "Complaint", "NPS answer", "score 4",
                 "layla@example.net", "+971501234567", "Espresso machine Pro", "Call:"):
        assert text not in page, text
    listing = client.get("/customers/").get_data(as_text=True)
    assert "Layla Haddad" in listing and "layla@example.net" not in listing


def test_the_api_gives_each_role_its_fields(app, client, world):
    full = client.get("/api/v1/customers/C1", headers=_bearer(app, world["sara"])).get_json()
    assert full["email"] == "layla@example.net" and full["phone"] and full["sales"]
    mail_room = _bearer(app, world["print"])
    cut = client.get("/api/v1/customers/C1", headers=mail_room).get_json()
    assert cut["name"] == "Layla Haddad" and cut["address"]["lines"] == ["Sheikh Zayed Road 12"]
    assert not {"email", "phone", "sales", "owner"} & set(cut)
    listed = client.get("/api/v1/customers/", headers=mail_room).get_json()["items"][0]
    assert listed["name"] == "Layla Haddad" and "email" not in listed and "phone" not in listed
    assert client.get("/api/v1/customers/C1/touchpoints", headers=mail_room).status_code == 403
    marketing = client.get("/api/v1/customers/C1", headers=_bearer(app, world["marketing"])).get_json()
    assert marketing["email"] == "layla@example.net"


def _attempts(call_id):
    db.session.expire_all()
    return db.session.scalars(select(CallAttempt).where(CallAttempt.touchpoint_id == call_id)).all()


def test_another_callers_outcome_through_the_api_is_refused(app, client, world):
    before = len(_attempts(world["call_id"]))
    response = client.post(f"/api/v1/touchpoints/{world['call_id']}/outcome", headers=_bearer(app, world["omar"]),
                           json={"outcome": "reached"})
    assert response.status_code == 403
    assert "belongs to" in response.get_json()["message"]
    assert len(_attempts(world["call_id"])) == before


def test_another_callers_outcome_snooze_and_reschedule_on_pages_are_refused(app, client, auth, world):
    before = len(_attempts(world["call_id"]))
    due_before = db.session.get(Touchpoint, world["call_id"]).due_at
    auth.login("omar@example.com")
    token = auth.csrf("/calls/")
    cid = world["call_id"]
    assert client.post(f"/calls/{cid}/outcome", data={"csrf_token": token, "outcome": "reached"}).status_code == 403
    assert client.post(f"/calls/{cid}/snooze", data={"csrf_token": token, "hours": "2"}).status_code == 403
    assert client.post(f"/calls/{cid}/reschedule",
                       data={"csrf_token": token, "due_at": "2031-01-01T10:00"}).status_code == 403
    assert len(_attempts(cid)) == before
    db.session.expire_all()
    assert db.session.get(Touchpoint, cid).due_at == due_before


def test_an_admin_logs_on_the_owners_behalf(app, client, world):
    response = client.post(f"/api/v1/touchpoints/{world['call_id']}/outcome", headers=_bearer(app, world["admin"]),
                           json={"outcome": "reached"})
    assert response.status_code == 200 and response.get_json()["status"] == "done"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "call.outcome")
                               .order_by(AuditEntry.id.desc())).first()
    assert entry.changes["on_behalf_of"] == "sara@example.com"


def test_after_reassigning_the_new_owner_may_log(app, client, auth, world):
    auth.login("omar@example.com")
    token = auth.csrf("/calls/")
    response = client.post("/calls/reassign", data={"csrf_token": token, "touchpoint_id": str(world["call_id"]),
                                                     "owner_id": str(world["omar"].id)})
    assert response.status_code == 302
    answer = client.post(f"/api/v1/touchpoints/{world['call_id']}/outcome", headers=_bearer(app, world["omar"]),
                         json={"outcome": "reached"})
    assert answer.status_code == 200
