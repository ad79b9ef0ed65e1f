"""The audit log (retention/audit/): every staff change leaves exactly one entry with its actor, page and API alike."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from retention.audit.models import AuditEntry
from retention.extensions import db
from retention.hooks.models import InboundEvent
from retention.journeys.models import Enrollment, Touchpoint
from retention.journeys.service import ensure_default_journey
from retention.postal.models import Letter, PrintBatch
from retention.postal.service import ensure_default_templates
from retention.tick import run as tick
from tests.factories import customer, event, sale_completed, staff, token_for

UTC = dt.timezone.utc


def _bearer(app, user):
    return {"Authorization": f"Bearer {token_for(app, user)}"}


@pytest.fixture
def world(app, client, signer):
    """Sara's open check-in call for C1 (sold three days ago), queued welcome letters for C2 (US) and C3 (DE)."""
    now = dt.datetime.now(UTC)
    ensure_default_journey(db.session, now - dt.timedelta(days=10))
    ensure_default_templates(db.session, now - dt.timedelta(days=10))
    people = {role: staff(app, f"{role}@example.com", role) for role in ("marketing", "print", "admin")}
    people["sara"] = staff(app, "sara@example.com", "onboarding", timezone="Europe/Berlin")
    db.session.commit()
    signer.post(client, sale_completed("S1", cust=customer("C1"), occurred_at=now - dt.timedelta(days=3)))
    for sale_id, cid, country in (("S2", "C2", "US"), ("S3", "C3", "DE")):
        signer.post(client, sale_completed(sale_id, occurred_at=now, cust=customer(
            cid, address={"lines": ["1 Main Street"], "city": "Town", "postal_code": "10115", "country": country})))
    tick(now)  # enrolled now: nothing skipped as late
    tick(now + dt.timedelta(days=1))  # the day-0 letters are queued
    call = db.session.scalar(select(Touchpoint).where(Touchpoint.owner_id == people["sara"].id,
                                                      Touchpoint.kind == "call", Touchpoint.status == "open"))
    assert call is not None
    assert db.session.scalar(select(func.count()).select_from(Letter).where(Letter.status == "queued")) == 2
    people["omar"] = staff(app, "omar@example.com", "onboarding")
    db.session.commit()
    return {"call_id": call.id, **people}


class Audit:
    """Checks that the action just done wrote exactly one audit entry, and what it says."""

    def __init__(self):
        self.seen = db.session.scalar(select(func.max(AuditEntry.id))) or 0

    def one(self, action: str, entity_id, actor) -> AuditEntry:
        db.session.expire_all()
        new = db.session.scalars(select(AuditEntry).where(AuditEntry.id > self.seen).order_by(AuditEntry.id)).all()
        self.seen = max([self.seen, *(e.id for e in new)])
        assert [(e.action, e.entity_id, e.actor) for e in new] == [(action, str(entity_id), f"staff:{actor.id}")]
        return new[0]


def test_every_call_change_is_audited_once_through_page_and_api(app, client, auth, world):
    cid, sara, admin = world["call_id"], world["sara"], world["admin"]
    as_admin = _bearer(app, admin)
    audit = Audit()
    auth.login("sara@example.com")
    token = auth.csrf("/calls/")
    assert client.post(f"/calls/{cid}/outcome", data={"csrf_token": token, "outcome": "no_answer"}).status_code == 302
    assert audit.one("call.outcome", cid, sara).changes == {"outcome": "no_answer"}
    answer = client.post(f"/api/v1/touchpoints/{cid}/outcome", headers=as_admin,
                         json={"outcome": "voicemail"})
    assert answer.status_code == 200
    assert audit.one("call.outcome", cid, admin).changes == {"outcome": "voicemail",
                                                             "on_behalf_of": "sara@example.com"}
    assert client.post(f"/calls/{cid}/snooze", data={"csrf_token": token, "hours": "3"}).status_code == 302
    assert audit.one("call.snoozed", cid, sara).changes["hours"] == 3
    later = (dt.datetime.now(UTC) + dt.timedelta(days=3)).astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert client.post(f"/calls/{cid}/reschedule",
                       data={"csrf_token": token, "due_at": later.strftime("%Y-%m-%dT10:30")}).status_code == 302
    assert "due_at" in audit.one("call.rescheduled", cid, sara).changes
    assert client.post("/calls/reassign", data={"csrf_token": token, "touchpoint_id": str(cid),
                                                "owner_id": str(world["omar"].id)}).status_code == 302
    moved = audit.one("call.reassigned", cid, sara)
    assert moved.changes["owner_id"] == world["omar"].id and moved.changes["from_owner_id"] == sara.id
    # a refused change records nothing
    assert client.post(f"/calls/{cid}/snooze", data={"csrf_token": token, "hours": "0"}).status_code == 403
    db.session.expire_all()
    assert db.session.scalar(select(func.max(AuditEntry.id))) == audit.seen


def test_pause_resume_skip_and_journey_edits_are_audited_once(app, client, auth, world):
    sara, admin = world["sara"], world["admin"]
    enrollment = db.session.scalar(select(Enrollment).where(Enrollment.customer.has(external_id="C1")))
    later_step = db.session.scalar(select(Touchpoint).where(Touchpoint.enrollment_id == enrollment.id,
                                                            Touchpoint.status == "scheduled")
                                   .order_by(Touchpoint.due_at))
    as_sara, headers = _bearer(app, sara), _bearer(app, admin)
    audit = Audit()
    auth.login("sara@example.com")
    token = auth.csrf("/calls/")
    assert client.post(f"/touchpoints/{later_step.id}/skip", data={"csrf_token": token}).status_code == 302
    audit.one("touchpoint.skipped", later_step.id, sara)
    for action in ("pause", "resume"):
        assert client.post(f"/enrollments/{enrollment.id}/{action}", data={"csrf_token": token}).status_code == 302
        audit.one(f"enrollment.{action}", enrollment.id, sara)
    for action in ("pause", "resume"):
        answer = client.post(f"/api/v1/enrollments/{enrollment.id}/{action}", headers=as_sara)
        assert answer.status_code == 200
        audit.one(f"enrollment.{action}", enrollment.id, sara)
    assert client.post(f"/api/v1/enrollments/{enrollment.id}/resume", headers=as_sara).status_code == 409
    steps = client.get("/api/v1/journeys/first-90-days", headers=headers).get_json()["steps"]
    steps[2]["day_offset"] = 15
    answer = client.put("/api/v1/journeys/first-90-days", json={"steps": steps, "choice": "keep"}, headers=headers)
    assert answer.status_code == 200
    audit.one("journey.edited", "first-90-days", admin)
    auth.login("admin@example.com")
    form = {"csrf_token": auth.csrf("/journeys/first-90-days/edit"), "rows": str(len(steps) + 1), "action": "save",
            "choice": "keep", "name": "First ninety days", f"kind-{len(steps)}": "call"}
    for i, step in enumerate(steps):
        for name in ("key", "title", "day_offset", "kind", "window_start", "window_end", "script", "template_key"):
            form[f"{name}-{i}"] = "" if step.get(name) is None else str(step[name])
        if step.get("business_days"):
            form[f"business_days-{i}"] = "on"
    assert client.post("/journeys/first-90-days/edit", data=form).status_code == 302
    audit.one("journey.edited", "first-90-days", admin)


def test_templates_print_batches_and_returned_mail_are_audited_once(app, client, auth, world, queue):
    marketing, post = world["marketing"], world["print"]
    as_marketing, headers = _bearer(app, marketing), _bearer(app, post)
    audit = Audit()
    answer = client.put("/api/v1/letter-templates/welcome/en", json={"body": "Dear {{ customer.name }}"},
                        headers=as_marketing)
    assert answer.status_code == 200
    assert audit.one("letter_template.saved", "welcome/en", marketing).changes == {"version": 2}
    auth.login("marketing@example.com")
    token = auth.csrf("/letters/templates/welcome/en")
    assert client.post("/letters/templates/welcome/en",
                       data={"csrf_token": token, "body": "Hello {{ customer.name }}"}).status_code == 302
    assert audit.one("letter_template.saved", "welcome/en", marketing).changes == {"version": 3}

    created = client.post("/api/v1/print-batches/", json={"country": "US"}, headers=headers)
    assert created.status_code == 202
    by_api = created.get_json()["id"]
    assert audit.one("batch.created", by_api, post).changes["letters"] == 1
    auth.login("print@example.com")
    token = auth.csrf("/letters/")
    assert client.post("/letters/batches", data={"csrf_token": token, "country": "DE"}).status_code == 302
    by_page = db.session.scalar(select(func.max(PrintBatch.id)))
    assert by_page != by_api
    assert audit.one("batch.created", by_page, post).changes["letters"] == 1
    queue.drain()

    assert client.post(f"/api/v1/print-batches/{by_api}/rebuild", headers=headers).status_code == 200
    audit.one("batch.rebuild", by_api, post)
    assert client.post(f"/letters/batches/{by_page}/rebuild", data={"csrf_token": token}).status_code == 302
    audit.one("batch.rebuild", by_page, post)
    queue.drain()
    for action in ("printed", "mailed"):
        assert client.post(f"/api/v1/print-batches/{by_api}/{action}", headers=headers).status_code == 200
        assert audit.one(f"batch.{action}", by_api, post).changes == {"letters": 1}
        assert client.post(f"/letters/batches/{by_page}/{action}", data={"csrf_token": token}).status_code == 302
        assert audit.one(f"batch.{action}", by_page, post).changes == {"letters": 1}
    # a mailed batch is not rebuilt, through either door, and nothing is recorded
    assert client.post(f"/api/v1/print-batches/{by_api}/rebuild", headers=headers).status_code == 409
    assert client.post(f"/letters/batches/{by_page}/rebuild", data={"csrf_token": token}).status_code == 409
    letter = db.session.scalar(select(Letter).where(Letter.batch_id == by_page))
    assert client.post(f"/letters/{letter.id}/returned", data={"csrf_token": token, "reason": "moved"}).status_code == 302
    # the return, and the owner's fix-address call it opens (audited by the calls service)
    new = db.session.scalars(select(AuditEntry).where(AuditEntry.id > audit.seen).order_by(AuditEntry.id)).all()
    assert sorted((e.action, e.actor) for e in new) == [("call.opened", f"staff:{post.id}"),
                                                        ("letter.returned", f"staff:{post.id}")]
    returned = next(e for e in new if e.action == "letter.returned")
    assert returned.entity_id == str(letter.id) and returned.changes["reason"] == "moved"
    audit.seen = max(e.id for e in new)
    assert client.post(f"/letters/{letter.id}/undo-return", data={"csrf_token": token}).status_code == 302
    new = db.session.scalars(select(AuditEntry).where(AuditEntry.id > audit.seen).order_by(AuditEntry.id)).all()
    assert sorted(e.action for e in new) == ["call.cancelled", "letter.return_undone"]


def test_replaying_an_event_is_audited_once(app, client, auth, signer, world):
    signer.post(client, event("nps.response", {"customer_id": "C404", "score": 9}))
    tick(dt.datetime.now(UTC))
    waiting = db.session.scalar(select(InboundEvent).where(InboundEvent.status == "waiting"))
    assert waiting is not None
    audit = Audit()
    auth.login("admin@example.com")
    token = auth.csrf("/admin/events/?status=waiting")
    assert client.post(f"/admin/events/{waiting.id}/replay", data={"csrf_token": token}).status_code == 302
    audit.one("event.replayed", waiting.id, world["admin"])


def test_a_refused_skip_is_explained_in_the_readers_language(app, client, auth, world):
    enrollment = db.session.scalar(select(Enrollment).where(Enrollment.customer.has(external_id="C1")))
    step = db.session.scalar(select(Touchpoint).where(Touchpoint.enrollment_id == enrollment.id,
                                                      Touchpoint.status == "scheduled").order_by(Touchpoint.due_at))
    auth.login("sara@example.com")
    token = auth.csrf("/calls/")
    assert client.post(f"/touchpoints/{step.id}/skip", data={"csrf_token": token}).status_code == 302
    again = client.post(f"/touchpoints/{step.id}/skip?lang=fa", data={"csrf_token": token}, follow_redirects=True)
    page = again.get_data(as_text=True)
    assert "را نمی‌توان رد کرد" in page and "cannot be skipped" not in page
