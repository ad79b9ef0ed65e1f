"""Complaint cases (H1): opened from a helpdesk event, the customer page and an unhappy call; moves allowed by
the status (others 409), reopen, assign and take over, intake answers; each change on the timeline and audited."""
from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import func, select

from retention.audit.models import AuditEntry
from retention.calls import service as calls
from retention.complaints import service
from retention.complaints.models import CaseChange
from retention.extensions import db
from retention.journeys.models import Touchpoint
from tests.complaints.casekit import T0, cases, csrf_of, open_case, sold
from tests.factories import event, staff
from tests.journeys.conftest import world  # noqa: F401

UTC = dt.timezone.utc


@pytest.fixture
def people(app, world):
    """The default journey's two callers (Omar in Dubai, Emma in London) and Maya in marketing."""
    omar, emma = world["owners"]
    return {"omar": omar, "emma": emma, "maya": staff(app, "maya@example.com", "marketing", name="Maya")}


@pytest.fixture
def signed_in(client, auth, clock, people):
    clock.set(T0)
    auth.login("omar@example.com")
    return client


def _audit(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


# --- three sources ----------------------------------------------------------------------------------------

def test_a_helpdesk_event_opens_a_case_keeping_an_unknown_category_as_sent(client, signer, queue, signed_in):
    sold(client, signer, queue)
    sent = event("complaint.opened", {"complaint_id": "HD-77", "customer_id": "C1", "channel": "email",
                                      "category": "warranty/extended", "summary": "Wants the extended warranty."},
                 occurred_at=T0 + dt.timedelta(hours=1))
    assert signer.post(client, sent).status_code == 202
    queue.drain()
    [case] = cases()
    assert (case.source, case.category, case.status, case.external_id) == ("event", "warranty/extended", "new", "HD-77")
    page = signed_in.get(f"/complaints/{case.id}").get_data(as_text=True)
    assert "<bdi>warranty/extended</bdi>" in page and "not in our list" in page
    assert "Complaint case opened" in signed_in.get("/customers/C1").get_data(as_text=True)


def test_staff_open_a_case_from_the_customer_page_for_the_customers_owner(client, signer, queue, signed_in):
    customer = sold(client, signer, queue)
    page = signed_in.get("/customers/C1").get_data(as_text=True)
    assert 'id="open-case"' in page and "/complaints/new/C1" in page
    form = signed_in.get("/complaints/new/C1").get_data(as_text=True)
    assert "Product quality or defect" in form and "Could you give an example?" in form
    answer = signed_in.post("/complaints/new/C1", data={
        "csrf_token": csrf_of(form), "channel": "email", "category": "product_quality", "severity": "high",
        "summary": "The grinder stopped after a week.", "owner_id": ""})
    assert answer.status_code == 303
    [case] = cases()
    assert answer.headers["Location"].endswith(f"/complaints/{case.id}")
    assert (case.source, case.channel, case.severity, case.status) == ("staff", "email", "high", "new")
    assert case.owner_id == customer.owner_id is not None
    assert _audit("complaint.opened") == 1
    shown = signed_in.get(f"/complaints/{case.id}").get_data(as_text=True)
    assert "The grinder stopped after a week." in shown and "Product quality or defect" in shown


def test_a_refused_form_keeps_what_was_typed_and_opens_nothing(client, signer, queue, signed_in):
    sold(client, signer, queue)
    token = csrf_of(signed_in.get("/complaints/new/C1").get_data(as_text=True))
    answer = signed_in.post("/complaints/new/C1", data={
        "csrf_token": token, "channel": "social", "category": "billing", "severity": "medium",
        "summary": "Posted that we charged twice", "public_url": ""})
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "A complaint on social media needs the public post" in page and "Posted that we charged twice" in page
    assert 'id="f-public_url" name="public_url" type="url" dir="ltr" value="" aria-invalid="true"' in page
    answer = signed_in.post("/complaints/new/C1", data={
        "csrf_token": token, "channel": "phone", "category": "no-such", "severity": "medium", "summary": "x"})
    assert answer.status_code == 422 and "Choose a category." in answer.get_data(as_text=True)
    assert cases() == []


def test_an_unhappy_call_offers_a_prefilled_case_on_the_spot(client, signer, queue, signed_in, people):
    sold(client, signer, queue)
    tp = db.session.scalar(select(Touchpoint).where(Touchpoint.kind == "call").order_by(Touchpoint.due_at))
    tp.owner_id, tp.status = people["omar"].id, "open"
    db.session.commit()
    token = csrf_of(signed_in.get("/calls/").get_data(as_text=True))
    answer = signed_in.post(f"/calls/{tp.id}/outcome", data={"csrf_token": token, "outcome": "reached",
                                                             "sentiment": "unhappy", "notes": "Angry about delivery"})
    assert answer.status_code == 303
    offer = urlparse(answer.headers["Location"])
    assert offer.path == "/complaints/new/C1" and parse_qs(offer.query)["touchpoint"] == [str(tp.id)]
    form = signed_in.get(answer.headers["Location"]).get_data(as_text=True)
    assert "The customer was unhappy on this call" in form
    assert '<option value="phone" selected>' in form and "Not now" in form
    answer = signed_in.post("/complaints/new/C1", data={
        "csrf_token": csrf_of(form), "touchpoint": str(tp.id), "next": "/calls/", "channel": "phone",
        "category": "delivery", "severity": "medium", "summary": "Late and crushed"})
    assert answer.status_code == 303
    [case] = cases()
    assert (case.source, case.from_touchpoint_id) == ("call", tp.id)
    # a happy call is not offered a case
    calls_page = signed_in.get("/customers/C1").get_data(as_text=True)
    answer = signed_in.post("/calls/customer/C1/log", data={"csrf_token": csrf_of(calls_page), "outcome": "reached",
                                                            "sentiment": "happy"})
    assert "/complaints/new/" not in answer.headers["Location"]
    answer = signed_in.post("/calls/customer/C1/log", data={"csrf_token": csrf_of(calls_page), "outcome": "reached",
                                                            "sentiment": "unhappy"})
    assert urlparse(answer.headers["Location"]).path == "/complaints/new/C1"


# --- moves, reopen --------------------------------------------------------------------------------------

def test_moves_follow_the_status_and_others_are_refused_with_409(client, signer, queue, signed_in):
    case = open_case(sold(client, signer, queue))
    with pytest.raises(service.CaseConflict) as refused:
        service.move(db.session, case, "verified", now=T0, actor="staff:1")
    assert str(refused.value) == "status: A case that is New cannot become Verified."
    db.session.rollback()
    page = signed_in.get(f"/complaints/{case.id}").get_data(as_text=True)
    assert {m for m in ("acknowledged", "investigating", "solution_offered", "closed", "verified")
            if f'data-move="{m}"' in page} == {"acknowledged", "investigating", "closed"}
    token = csrf_of(page)
    # "solution offered" comes with the solution's text (the resolution form), never as a bare move
    bare = signed_in.post(f"/complaints/{case.id}/status", data={"csrf_token": token, "status": "solution_offered"})
    assert bare.status_code == 409 and "Record the solution itself" in bare.get_data(as_text=True)
    refused = signed_in.post(f"/complaints/{case.id}/status", data={"csrf_token": token, "status": "verified"})
    assert refused.status_code == 409 and "A case that is New cannot become Verified." in refused.get_data(as_text=True)
    assert signed_in.post(f"/complaints/{case.id}/status", data={"csrf_token": token, "status": "nonsense"}).status_code == 422
    assert cases()[0].status == "new"
    assert signed_in.post(f"/complaints/{case.id}/status", data={"csrf_token": token, "status": "acknowledged"}).status_code == 303
    assert signed_in.post(f"/complaints/{case.id}/status", data={"csrf_token": token, "status": "investigating"}).status_code == 303
    case = cases()[0]
    assert case.status == "investigating"
    assert [c.to_status for c in case.changes] == ["new", "acknowledged", "investigating"]
    timeline = signed_in.get("/customers/C1").get_data(as_text=True)
    assert "Complaint case: Investigating" in timeline and "Complaint case: Acknowledged" in timeline


def test_reopen_goes_back_to_investigating_and_counts(client, signer, queue, signed_in):
    case = open_case(sold(client, signer, queue))
    token = csrf_of(signed_in.get(f"/complaints/{case.id}").get_data(as_text=True))
    refused = signed_in.post(f"/complaints/{case.id}/reopen", data={"csrf_token": token})
    assert refused.status_code == 409
    assert signed_in.post(f"/complaints/{case.id}/status", data={"csrf_token": token, "status": "closed"}).status_code == 303
    page = signed_in.get(f"/complaints/{case.id}").get_data(as_text=True)
    assert 'id="reopen"' in page and "data-move" not in page
    assert signed_in.post(f"/complaints/{case.id}/reopen", data={"csrf_token": token, "note": "Broke again"}).status_code == 303
    case = cases()[0]
    assert (case.status, case.reopened_count, case.closed_at) == ("investigating", 1, None)
    assert _audit("complaint.reopened") == 1
    assert "Broke again" in signed_in.get(f"/complaints/{case.id}").get_data(as_text=True)


# --- owners, answers ------------------------------------------------------------------------------------

def test_assign_and_take_over_are_on_the_timeline_and_a_closed_case_keeps_its_owner(client, signer, queue,
                                                                                    signed_in, people):
    case = open_case(sold(client, signer, queue))
    token = csrf_of(signed_in.get(f"/complaints/{case.id}").get_data(as_text=True))
    assert signed_in.post(f"/complaints/{case.id}/assign", data={"csrf_token": token,
                                                                "owner_id": str(people["emma"].id)}).status_code == 303
    assert cases()[0].owner_id == people["emma"].id
    page = signed_in.get(f"/complaints/{case.id}").get_data(as_text=True)
    assert 'id="take-over"' in page and "tell the customer why" in page
    assert signed_in.post(f"/complaints/{case.id}/assign", data={"csrf_token": token,
                                                                "owner_id": str(people["omar"].id)}).status_code == 303
    assert cases()[0].owner_id == people["omar"].id
    refused = signed_in.post(f"/complaints/{case.id}/assign", data={"csrf_token": token,
                                                                   "owner_id": str(people["maya"].id)})
    assert refused.status_code == 422 and "Choose an active colleague who handles complaints." in refused.get_data(as_text=True)
    assert [c.action for c in cases()[0].changes].count("owner") == 2
    signed_in.post(f"/complaints/{case.id}/status", data={"csrf_token": token, "status": "closed"})
    refused = signed_in.post(f"/complaints/{case.id}/assign", data={"csrf_token": token,
                                                                   "owner_id": str(people["emma"].id)})
    assert refused.status_code == 409 and cases()[0].owner_id == people["omar"].id


def test_intake_answers_are_kept_on_the_case_within_limits(client, signer, queue, signed_in):
    case = open_case(sold(client, signer, queue))
    page = signed_in.get(f"/complaints/{case.id}").get_data(as_text=True)
    assert "When should it have arrived" in page and "What am I assuming?" in page
    token = csrf_of(page)
    saved = signed_in.post(f"/complaints/{case.id}/answers", data={
        "csrf_token": token, "answer-when": "Due Monday, came Friday", "answer-condition": "  ", "answer-tracking": ""})
    assert saved.status_code == 303
    assert cases()[0].answers == {"when": "Due Monday, came Friday"}
    refused = signed_in.post(f"/complaints/{case.id}/answers", data={"csrf_token": token, "answer-when": "x" * 2001})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "An answer can be at most 2,000 characters long." in page and "x" * 2001 in page
    refused = signed_in.post(f"/complaints/{case.id}/answers", data={"csrf_token": token, "answer-nope": "hi"})
    assert refused.status_code == 422
    assert cases()[0].answers == {"when": "Due Monday, came Friday"}
    assert db.session.scalar(select(func.count()).select_from(CaseChange).where(CaseChange.action == "answers")) == 1


def test_unknown_case_and_wrong_roles(client, signer, queue, auth, clock, people):
    clock.set(T0)
    open_case(sold(client, signer, queue))
    auth.login("maya@example.com")
    assert client.get("/complaints/").status_code == 403
    assert client.get("/complaints/1").status_code == 403
    page = client.get("/customers/C1").get_data(as_text=True)
    assert 'id="open-case"' not in page and "The box arrived crushed." not in page  # marketing: no private text
    client.post("/logout", data={"csrf_token": auth.csrf("/customers/")})
    auth.login("omar@example.com")
    assert client.get("/complaints/999").status_code == 404
    assert client.get("/complaints/new/NOPE").status_code == 404


def test_the_case_list_filters_and_pages(client, signer, queue, signed_in, people):
    customer = sold(client, signer, queue)
    first = open_case(customer, category="billing")
    open_case(customer, category="delivery", now=T0 + dt.timedelta(hours=1))
    service.assign(db.session, first, people["emma"], now=T0, actor="test")
    db.session.commit()
    page = signed_in.get("/complaints/").get_data(as_text=True)
    assert page.count("data-case=") == 2 and "2 cases" in page
    page = signed_in.get("/complaints/?category=billing").get_data(as_text=True)
    assert page.count("data-case=") == 1 and "Billing" in page
    page = signed_in.get(f"/complaints/?owner={people['emma'].id}&status=new").get_data(as_text=True)
    assert page.count("data-case=") == 1
    assert signed_in.get("/complaints/?status=bogus").status_code == 400
    assert signed_in.get("/complaints/?type=bogus").status_code == 400
    assert signed_in.get("/complaints/?page=0").status_code == 400
    assert signed_in.get("/complaints/?page=2").status_code == 200


def test_every_case_change_is_audited_once_through_page_and_api(app, client, signer, queue, signed_in, people):
    from tests.factories import token_for

    sold(client, signer, queue)
    as_emma = {"Authorization": f"Bearer {token_for(app, people['emma'])}"}
    seen = db.session.scalar(select(func.max(AuditEntry.id))) or 0

    def one(action: str, actor) -> AuditEntry:
        nonlocal seen
        db.session.expire_all()
        new = db.session.scalars(select(AuditEntry).where(AuditEntry.id > seen).order_by(AuditEntry.id)).all()
        seen = max([seen, *(e.id for e in new)])
        assert [(e.action, e.actor) for e in new] == [(action, f"staff:{actor.id}")]
        return new[0]

    token = csrf_of(signed_in.get("/complaints/new/C1").get_data(as_text=True))
    signed_in.post("/complaints/new/C1", data={"csrf_token": token, "channel": "phone", "category": "billing",
                                               "severity": "low", "summary": "Charged twice"})
    assert one("complaint.opened", people["omar"]).changes["category"] == "billing"
    case_id = cases()[0].id
    signed_in.post(f"/complaints/{case_id}/status", data={"csrf_token": token, "status": "acknowledged"})
    assert one("complaint.status", people["omar"]).changes["to"] == "acknowledged"
    client.post(f"/api/v1/complaints/{case_id}/status", json={"status": "closed"}, headers=as_emma)
    assert one("complaint.status", people["emma"]).changes["to"] == "closed"
    client.post(f"/api/v1/complaints/{case_id}/reopen", json={}, headers=as_emma)
    one("complaint.reopened", people["emma"])
    client.post(f"/api/v1/complaints/{case_id}/assign", json={"owner": "emma@example.com"}, headers=as_emma)
    assert one("complaint.owner", people["emma"]).changes["to"] == "emma@example.com"
    signed_in.post(f"/complaints/{case_id}/answers", data={"csrf_token": token, "answer-charge": "12 March, 649"})
    one("complaint.answers", people["omar"])
    signed_in.post(f"/complaints/{case_id}/type", data={"csrf_token": token, "customer_type": "meek"})
    assert one("customer.type_set", people["omar"]).changes == {"customer": "C1", "old": None, "new": "meek"}
    # refused changes record nothing
    signed_in.post(f"/complaints/{case_id}/status", data={"csrf_token": token, "status": "verified"})
    signed_in.post(f"/complaints/{case_id}/type", data={"csrf_token": token, "customer_type": "vip"})
    db.session.expire_all()
    assert (db.session.scalar(select(func.max(AuditEntry.id))) or 0) == seen
