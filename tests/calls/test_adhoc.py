"""Ad-hoc calls and notes (retention/calls/adhoc.py): opened outside the journey, worked in My calls."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from retention.audit.models import AuditEntry
from retention.calls import adhoc, service as calls
from retention.customers.models import Customer
from retention.extensions import db
from retention.journeys.models import Touchpoint
from retention.tick import run as tick
from tests.factories import customer, sale_completed, staff

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 6, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def sara(app, world):
    for owner in world["owners"]:
        owner.active = False
    return staff(app, "sara@example.com", "onboarding", timezone="Asia/Tehran", country="IR", name="Sara",
                 work_start="08:00", work_end="17:00")


def the_customer(client, signer, cid="C1", **fields):
    signer.post(client, sale_completed(cust=customer(cid, **fields), occurred_at=NOW - dt.timedelta(days=20)))
    tick(NOW - dt.timedelta(days=20))
    return db.session.scalar(select(Customer).where(Customer.external_id == cid))


def test_open_call_lands_in_the_owners_list_with_its_purpose_and_is_audited(app, client, signer, sara):
    c = the_customer(client, signer)
    tp = adhoc.open_call(c, purpose="fix_address", note="letter came back", now=NOW, actor="staff:99")
    db.session.commit()
    assert tp.owner_id == sara.id and tp.status == "open" and tp.step_id is None and tp.due_at == NOW
    cards = [card for group in calls.my_calls(db.session, sara, NOW).values() for card in group]
    adhoc_card = next(card for card in cards if card.touchpoint.id == tp.id)
    assert adhoc_card.touchpoint.purpose == "fix_address" and adhoc_card.sale is not None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "call.opened"))
    assert entry.entity_id == str(tp.id) and entry.changes["purpose"] == "fix_address"


def test_open_call_refuses_an_unknown_purpose_and_a_time_in_the_past(app, client, signer, sara):
    c = the_customer(client, signer)
    with pytest.raises(calls.CallError, match="purpose"):
        adhoc.open_call(c, purpose="chat", now=NOW, actor="test")
    with pytest.raises(calls.CallError, match="due_at"):
        adhoc.open_call(c, purpose="follow_up", due_at=NOW - dt.timedelta(days=1), now=NOW, actor="test")


def test_an_adhoc_call_is_worked_like_any_call_and_never_handed_out_by_the_tick(app, client, signer, sara):
    c = the_customer(client, signer)
    tp = adhoc.open_call(c, purpose="follow_up", now=NOW, actor="test")
    db.session.commit()
    calls.log_outcome(db.session, tp.id, staff=sara, outcome="no_answer", now=NOW)
    db.session.commit()
    db.session.refresh(tp)
    assert tp.status == "open" and tp.due_at > NOW and tp.attempts == 1  # retried, still in the list
    calls.snooze(db.session, tp.id, hours=4, now=NOW, actor="test")
    db.session.commit()
    tick(tp.due_at + dt.timedelta(hours=1))
    db.session.refresh(tp)
    assert tp.status == "open"
    calls.log_outcome(db.session, tp.id, staff=sara, outcome="reached", now=tp.due_at)
    db.session.commit()
    assert tp.status == "done"


def test_log_a_call_made_now_and_a_note(app, client, signer, sara):
    c = the_customer(client, signer)
    tp = adhoc.log_call(c, staff=sara, outcome="reached", notes="asked about the warranty", now=NOW,
                        actor=f"staff:{sara.id}")
    note = adhoc.log_note(c, "prefers calls after 4 pm", now=NOW, actor=f"staff:{sara.id}")
    db.session.commit()
    assert tp.status == "done" and tp.outcome == "reached"
    assert note.staff_id == sara.id
    actions = {a.action for a in db.session.scalars(select(AuditEntry))}
    assert {"call.opened", "call.outcome", "customer.note"} <= actions
    with pytest.raises(calls.CallError, match="note"):
        adhoc.log_note(c, "   ", now=NOW, actor="test")


def test_the_api_lists_an_adhoc_call_with_its_purpose_and_takes_its_outcome(app, client, signer, sara):
    from tests.factories import token_for

    c = the_customer(client, signer)
    tp = adhoc.open_call(c, purpose="fix_address", now=NOW, actor="test")
    db.session.commit()
    headers = {"Authorization": f"Bearer {token_for(app, sara)}"}
    listed = client.get("/api/v1/customers/C1/touchpoints", headers=headers).get_json()
    mine = next(t for t in listed if t["id"] == tp.id)
    assert mine["purpose"] == "fix_address" and mine["step"] is None and mine["enrollment"] is None
    answer = client.post(f"/api/v1/touchpoints/{tp.id}/outcome", headers=headers, json={"outcome": "wrong_number"})
    assert answer.status_code == 200 and answer.get_json()["status"] == "done"


def test_a_journey_edit_still_finds_customers_not_started_when_adhoc_calls_exist(app, client, signer, sara):
    """Ad-hoc calls have no enrollment: "not started" must not be read through a NULL (NOT IN would match none)."""
    from retention.journeys.service import _not_started

    signer.post(client, sale_completed(cust=customer("C1"), occurred_at=NOW))
    tick(NOW - dt.timedelta(days=2))  # enrolled, nothing due yet: not started
    c = db.session.scalar(select(Customer).where(Customer.external_id == "C1"))
    assert len(db.session.scalars(_not_started(db.session, "first-90-days")).all()) == 1
    adhoc.log_call(c, staff=sara, outcome="reached", now=NOW, actor="test")
    db.session.commit()
    assert len(db.session.scalars(_not_started(db.session, "first-90-days")).all()) == 1


def test_an_open_call_closed_before_anyone_made_it_says_so_on_the_timeline_with_the_reason(app, client, signer, sara):
    from retention.calls.timeline import adhoc_calls
    from retention.mail import optouts

    c = the_customer(client, signer)
    tp = adhoc.open_call(c, purpose="follow_up", owner=sara, now=NOW, actor="test")
    calls.log_outcome(db.session, tp.id, staff=sara, outcome="no_answer", now=NOW)  # tried once, still to make
    optouts.opt_out(db.session, c.id, "phone", source="staff", now=NOW + dt.timedelta(hours=1), actor="test")
    db.session.commit()
    with app.test_request_context():
        titles = [(e.title, e.detail) for e in adhoc_calls(db.session, c, 10)]
    assert ("Call closed: Follow-up call", ["Not called: the customer asked not to be phoned"]) in titles
    assert any(title.startswith("Call opened: Follow-up call") for title, _detail in titles)


def test_supersede_and_repurpose_are_audited_and_repurpose_takes_only_a_known_purpose(app, client, signer, sara):
    c = the_customer(client, signer)
    old = adhoc.open_call(c, purpose="follow_up", owner=sara, now=NOW, actor="test", note="first words")
    kept = adhoc.open_call(c, purpose="customer_request", owner=sara, now=NOW, actor="test",
                           due_at=NOW + dt.timedelta(days=1))
    with pytest.raises(calls.CallError, match="purpose"):
        adhoc.repurpose(db.session, kept, purpose="chat", note=None, now=NOW, actor="test")
    adhoc.supersede(db.session, old, by="customer_request", now=NOW, actor="test")
    adhoc.repurpose(db.session, kept, purpose="complaint_follow_up", note="new words", now=NOW, actor="test")
    db.session.commit()
    assert (old.status, old.reason, old.completed_at) == ("skipped", "superseded by the customer_request call", NOW)
    assert (kept.purpose, kept.note, kept.status, kept.due_at) == ("complaint_follow_up", "new words", "open",
                                                                    NOW + dt.timedelta(days=1))
    actions = {a.action: a.changes for a in db.session.scalars(select(AuditEntry).where(
        AuditEntry.action.in_(("call.cancelled", "call.repurposed"))))}
    assert actions["call.cancelled"]["why"] == "superseded"
    assert actions["call.repurposed"]["from"] == "customer_request"
    assert actions["call.repurposed"]["to"] == "complaint_follow_up"
