"""Tables that grow with traffic are kept in check by the tick: what has outlived its use goes, the rest stays."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select

from retention.audit.models import AuditEntry
from retention.customers.models import Customer
from retention.customers.timeline import timeline
from retention.extensions import db
from retention.hooks.contract import sample_events
from retention.hooks.models import InboundEvent
from retention.staff.models import LoginThrottle, StaffSession
from retention.tick import run as tick
from retention import upkeep
from tests.factories import event, staff

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
DAY = dt.timedelta(days=1)


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _timeline_of(external_id: str) -> list[tuple]:
    db.session.expire_all()
    found = db.session.scalar(select(Customer).where(Customer.external_id == external_id))
    return [(e.at, e.kind, e.title, e.detail, e.private) for e in timeline(db.session, found)]


def test_old_processed_events_keep_their_row_id_and_timeline_but_not_their_payload(client, signer):
    answers = {}
    for body in sample_events(T0):
        answer = signer.post(client, body, msg_id=f"wh-{body['type']}")
        assert answer.status_code == 202
        answers[body["type"]] = answer.get_json()
    # One event for a customer nobody has sent yet: it waits, and keeps its payload however old.
    signer.post(client, event("nps.response", {"customer_id": "NOBODY", "score": 3, "comment": "slow"}, occurred_at=T0))
    tick(T0)
    before = _timeline_of("SAMPLE-C1")
    assert any(entry[3] or entry[4] for entry in before)  # the timeline shows payload details
    sizes = {e.id: len(json.dumps(e.data)) for e in db.session.scalars(select(InboundEvent))}

    assert tick(T0 + 89 * DAY)["pruned_event_payloads"] == 0  # not old enough yet
    summary = tick(T0 + 91 * DAY)
    assert summary["pruned_event_payloads"] == len(answers)
    db.session.expire_all()
    events = {e.type if e.customer_ref == "SAMPLE-C1" else "waiting": e for e in db.session.scalars(select(InboundEvent))}
    assert _count(InboundEvent) == len(answers) + 1  # no row is deleted
    for event_type in answers:
        assert events[event_type].pruned_at == T0 + 91 * DAY
    upserted = events["customer.upserted"]
    assert upserted.data == {} and sizes[upserted.id] > 200  # the whole customer record is gone from the inbox
    assert events["waiting"].status == "waiting" and events["waiting"].data["comment"] == "slow"
    assert _timeline_of("SAMPLE-C1") == before  # the customer's history reads the same
    # A sender retrying an old delivery still gets the first answer, nothing applied twice.
    for body in sample_events(T0, ["sale.completed"]):
        again = signer.post(client, body, msg_id="wh-sale.completed")
        assert again.status_code == 200 and again.get_json() == answers["sale.completed"]


def test_ended_sessions_and_expired_throttles_go_live_ones_stay_and_audit_is_kept(app):
    user = staff(app, "omar@example.com", "onboarding")
    now = T0 + 100 * DAY
    db.session.add_all([
        StaffSession(id_hash="a" * 64, user_id=user.id, created_at=now - 40 * DAY, last_seen_at=now - 31 * DAY,
                     ended_at=now - 31 * DAY, ended_reason="signed out"),
        StaffSession(id_hash="b" * 64, user_id=user.id, created_at=now - 40 * DAY, last_seen_at=now - 35 * DAY),
        StaffSession(id_hash="c" * 64, user_id=user.id, created_at=now - 2 * DAY, last_seen_at=now - DAY,
                     ended_at=now - DAY, ended_reason="signed out"),  # recent: kept a while for the admin pages
        StaffSession(id_hash="d" * 64, user_id=user.id, created_at=now, last_seen_at=now),
        LoginThrottle(key="pair:old", window_start=now - dt.timedelta(minutes=16), attempts=5),
        LoginThrottle(key="addr:live", window_start=now - dt.timedelta(minutes=5), attempts=2),
    ])
    db.session.commit()
    audit_rows = _count(AuditEntry)
    assert audit_rows > 0  # creating the user was audited

    summary = tick(now)
    assert summary["pruned_staff_sessions"] == 2 and summary["pruned_login_throttles"] == 1
    db.session.expire_all()
    assert sorted(db.session.scalars(select(StaffSession.id_hash))) == ["c" * 64, "d" * 64]
    assert list(db.session.scalars(select(LoginThrottle.key))) == ["addr:live"]
    assert _count(AuditEntry) == audit_rows  # the audit log is the record: never pruned


def test_each_tick_prunes_a_bounded_batch_oldest_first(app):
    user = staff(app, "omar@example.com", "onboarding")
    now = T0 + 100 * DAY
    db.session.add_all([StaffSession(id_hash=f"{n:064d}", user_id=user.id, created_at=now - 60 * DAY,
                                     last_seen_at=now - (40 + n) * DAY) for n in range(5)])
    db.session.commit()
    assert upkeep.prune(db.session, now, limit=2)["staff_sessions"] == 2
    db.session.expire_all()
    # the two oldest went first
    assert sorted(int(h) for h in db.session.scalars(select(StaffSession.id_hash))) == [0, 1, 2]
    assert upkeep.prune(db.session, now, limit=2)["staff_sessions"] == 2
    assert upkeep.prune(db.session, now, limit=2)["staff_sessions"] == 1
    assert _count(StaffSession) == 0
