"""Step 4, solve and verify: the solution recorded, its verification call, its answer; gating released on close."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from retention.audit.models import AuditEntry
from retention.calls import service as calls
from retention.complaints import resolution, service
from retention.complaints.models import CaseChange, Complaint, ComplaintCategory
from retention.customers.models import Customer
from retention.extensions import db
from retention.journeys import calendar
from retention.journeys.models import Touchpoint
from retention.postal.models import Letter
from retention.surveys.models import Survey
from retention.tick import run as tick
from tests.factories import event
from tests.journeys.conftest import world  # noqa: F401
from tests.journeys.test_journeys import T0, sell


UTC = dt.timezone.utc


def open_case(now=T0 + dt.timedelta(days=1), customer_ref="C1") -> Complaint:
    customer = db.session.scalar(select(Customer).where(Customer.external_id == customer_ref))
    if db.session.scalar(select(ComplaintCategory).where(ComplaintCategory.key == "delivery")) is None:
        db.session.add(ComplaintCategory(key="delivery", names={"en": "Delivery"}, questions=[]))
    case = service.open_case(db.session, customer, channel="phone", category="delivery", summary="box damaged",
                             now=now, actor="staff:1")
    db.session.commit()
    return case


def touchpoints(customer_ref="C1") -> dict[str, Touchpoint]:
    """The customer's journey steps by key (ad-hoc calls left out)."""
    db.session.expire_all()
    rows = db.session.scalars(select(Touchpoint).where(Touchpoint.customer.has(external_id=customer_ref),
                                                       Touchpoint.step_id.is_not(None))).all()
    return {tp.step.key: tp for tp in rows}


def verifications() -> list[Touchpoint]:
    db.session.expire_all()
    return db.session.scalars(select(Touchpoint).where(Touchpoint.purpose == resolution.PURPOSE)
                              .order_by(Touchpoint.id)).all()


def solve(case: Complaint, now: dt.datetime, text="New box sent by courier") -> Complaint:
    case = service.get_case(db.session, case.id, for_update=True)
    resolution.record_solution(db.session, case, text, now=now, actor="staff:1")
    db.session.commit()
    return case


def answer(tp: Touchpoint, now: dt.datetime, outcome="reached", held=None) -> Touchpoint:
    tp = calls.log_outcome(db.session, tp.id, staff=tp.owner, outcome=outcome, now=now,
                           answers={"solution_held": held} if held is not None else {})
    db.session.commit()
    return tp


def test_recording_the_solution_schedules_one_verification_call_for_the_owner(client, signer, world):
    sell(client, signer, T0)
    case = open_case()
    solved_at = T0 + dt.timedelta(days=1)  # Tuesday 3 March, 10:00 in Dubai
    solve(case, solved_at)
    db.session.expire_all()
    case = db.session.get(Complaint, case.id)
    assert case.status == "solution_offered" and case.resolution == "New box sent by courier"
    [call] = verifications()
    assert case.verification_touchpoint_id == call.id
    assert call.owner_id == case.owner_id and call.status == "open"
    # Three business days later in the customer's country (AE: Wed, Thu, Fri), inside their calling hours and the
    # owner's working hours.
    customer = case.customer
    assert call.due_at.astimezone(calendar.time_zone("Asia/Dubai")).date() == dt.date(2026, 3, 6)
    assert calendar.in_window(call.due_at, calendar.LocalWindow("Asia/Dubai", dt.time(10), dt.time(18), "AE"))
    owner = call.owner
    assert calendar.in_window(call.due_at, calendar.LocalWindow(owner.timezone, dt.time(9), dt.time(17), owner.country))
    assert customer.id == call.customer_id
    # The hook running again (or the case passing through the status again) opens no second call.
    assert resolution.schedule_verification(db.session, case, now=solved_at, actor="system") is None
    resolution.on_status(db.session, case, solved_at, "investigating", "solution_offered")
    db.session.commit()
    assert len(verifications()) == 1
    actions = db.session.scalars(select(CaseChange.action).where(CaseChange.case_id == case.id)).all()
    assert actions.count("verification_scheduled") == 1


def test_verify_after_days_is_configurable(app, client, signer, world):
    app.config["COMPLAINT_VERIFY_AFTER_DAYS"] = 1
    sell(client, signer, T0)
    solve(open_case(), T0 + dt.timedelta(days=1))
    [call] = verifications()
    assert call.due_at.astimezone(calendar.time_zone("Asia/Dubai")).date() == dt.date(2026, 3, 4)


def test_a_solution_cannot_be_recorded_twice_or_empty(client, signer, world):
    sell(client, signer, T0)
    case = solve(open_case(), T0 + dt.timedelta(days=1))
    with pytest.raises(service.CaseConflict):
        resolution.record_solution(db.session, case, "again", now=T0 + dt.timedelta(days=2), actor="staff:1")
    db.session.rollback()
    other = open_case(customer_ref="C1")
    with pytest.raises(service.ComplaintError) as refused:
        resolution.record_solution(db.session, other, "   ", now=T0 + dt.timedelta(days=2), actor="staff:1")
    assert refused.value.field == "resolution"
    db.session.rollback()
    assert len(verifications()) == 1


def test_complaint_resolved_event_schedules_the_verification(client, signer, world):
    sell(client, signer, T0)
    signer.post(client, event("complaint.opened", {"complaint_id": "K1", "customer_id": "C1", "channel": "phone",
                                                   "category": "delivery", "summary": "box damaged"},
                              occurred_at=T0 + dt.timedelta(days=1)))
    resolved = T0 + dt.timedelta(days=2)
    signer.post(client, event("complaint.resolved", {"complaint_id": "K1", "resolution": "replaced"},
                              occurred_at=resolved))
    tick(resolved)
    case = db.session.scalar(select(Complaint))
    assert case.status == "solution_offered" and case.resolution == "replaced"
    [call] = verifications()
    assert case.verification_touchpoint_id == call.id and call.status == "open"
    # The same event again (a sender's retry with a new id) changes nothing and opens no second call.
    signer.post(client, event("complaint.resolved", {"complaint_id": "K1", "resolution": "replaced"},
                              occurred_at=resolved))
    tick(resolved + dt.timedelta(minutes=5))
    assert len(verifications()) == 1


def test_a_later_resolution_event_after_a_reopening_records_the_new_solution(client, signer, world):
    sell(client, signer, T0)
    signer.post(client, event("complaint.opened", {"complaint_id": "K1", "customer_id": "C1", "channel": "phone",
                                                   "category": "delivery", "summary": "box damaged"},
                              occurred_at=T0 + dt.timedelta(days=1)))
    first = T0 + dt.timedelta(days=2)
    signer.post(client, event("complaint.resolved", {"complaint_id": "K1", "resolution": "replaced"},
                              occurred_at=first))
    tick(first)
    [call] = verifications()
    answer(call, call.due_at, held="no")  # reopened
    # the helpdesk's first resolution delivered again late changes nothing: the case stays reopened
    signer.post(client, event("complaint.resolved", {"complaint_id": "K1", "resolution": "replaced"},
                              occurred_at=first))
    tick(call.due_at + dt.timedelta(minutes=1))
    assert db.session.scalar(select(Complaint)).status == "investigating"
    later = call.due_at + dt.timedelta(hours=2)
    signer.post(client, event("complaint.resolved", {"complaint_id": "K1", "resolution": "refunded in full"},
                              occurred_at=later))
    tick(later)
    db.session.expire_all()
    case = db.session.scalar(select(Complaint))
    assert (case.status, case.resolution) == ("solution_offered", "refunded in full")
    assert [v.status for v in verifications()] == ["done", "open"]


def test_verification_yes_verifies_and_closes_the_case(client, signer, world):
    sell(client, signer, T0)
    case = solve(open_case(), T0 + dt.timedelta(days=1))
    [call] = verifications()
    answer(call, call.due_at, held="yes")
    db.session.expire_all()
    case = db.session.get(Complaint, case.id)
    assert case.status == "closed" and case.verified_at == call.due_at and case.closed_at == call.due_at
    assert [c.to_status for c in case.changes if c.to_status][-2:] == ["verified", "closed"]
    assert verifications()[0].status == "done"


def test_verification_no_reopens_and_the_next_solution_gets_a_new_call(client, signer, world):
    sell(client, signer, T0)
    case = solve(open_case(), T0 + dt.timedelta(days=1))
    [first] = verifications()
    answer(first, first.due_at, held="no")
    db.session.expire_all()
    case = db.session.get(Complaint, case.id)
    assert case.status == "investigating" and case.reopened_count == 1
    solve(case, first.due_at + dt.timedelta(hours=1), text="Refund of the shipping")
    first_again, second = verifications()
    assert first_again.id == first.id and first_again.status == "done"
    assert second.status == "open" and second.due_at > first.due_at
    assert db.session.get(Complaint, case.id).verification_touchpoint_id == second.id
    answer(second, second.due_at, held="yes")
    assert db.session.get(Complaint, case.id).status == "closed"


def test_reached_without_saying_whether_it_held_is_refused_and_changes_nothing(client, signer, world):
    sell(client, signer, T0)
    case = solve(open_case(), T0 + dt.timedelta(days=1))
    [call] = verifications()
    with pytest.raises(calls.CallError) as refused:
        calls.log_outcome(db.session, call.id, staff=call.owner, outcome="reached", now=call.due_at)
    assert refused.value.field == "solution_held"
    db.session.rollback()
    assert verifications()[0].status == "open" and verifications()[0].attempts == 0
    assert db.session.get(Complaint, case.id).status == "solution_offered"


def test_no_answer_is_retried_like_any_call_and_the_case_waits(client, signer, world):
    sell(client, signer, T0)
    case = solve(open_case(), T0 + dt.timedelta(days=1))
    [call] = verifications()
    due = call.due_at
    call = answer(call, due, outcome="no_answer")
    assert call.status == "open" and call.due_at > due and call.attempts == 1
    assert db.session.get(Complaint, case.id).status == "solution_offered"
    call = answer(call, call.due_at, outcome="no_answer")
    call = answer(call, call.due_at, outcome="no_answer")
    assert call.status == "done"  # not reached after three attempts
    db.session.expire_all()
    case = db.session.get(Complaint, case.id)
    assert case.status == "solution_offered"  # the owner decides: schedule again or close
    assert case.changes[-1].action == "verification_unreached"
    assert resolution.schedule_verification(db.session, case, now=call.due_at, actor="staff:1") is not None


def test_reopening_or_closing_by_hand_cancels_the_pending_call(client, signer, world):
    sell(client, signer, T0)
    case = solve(open_case(), T0 + dt.timedelta(days=1))
    service.reopen(db.session, case, now=T0 + dt.timedelta(days=2), actor="staff:1")
    db.session.commit()
    [call] = verifications()
    assert call.status == "skipped" and call.reason == "complaint reopened: no verification needed"
    case = solve(case, T0 + dt.timedelta(days=3))
    service.move(db.session, case, "closed", now=T0 + dt.timedelta(days=4), actor="staff:1")
    db.session.commit()
    assert [c.status for c in verifications()] == ["skipped", "skipped"]


def test_gating_holds_surveys_while_verifying_and_releases_them_in_order_on_close(client, signer, world):
    sell(client, signer, T0)
    signer.post(client, event("complaint.opened", {"complaint_id": "K1", "customer_id": "C1", "channel": "phone",
                                                   "category": "delivery", "summary": "box damaged"},
                              occurred_at=T0 + dt.timedelta(days=20)))
    day31 = T0 + dt.timedelta(days=31)
    tick(day31)
    assert touchpoints()["nps_day_30"].reason == "waiting: a complaint is open"
    day91 = T0 + dt.timedelta(days=91)
    tick(day91)
    held = touchpoints()
    assert held["nps_day_30"].status == held["nps_day_90"].status == "scheduled"
    case = db.session.scalar(select(Complaint))
    solve(case, day91)
    tick(day91 + dt.timedelta(days=1, minutes=1))
    # While the verification call is pending the reason says so (in words on the customer page).
    assert touchpoints()["nps_day_30"].reason == "waiting: a complaint's solution is being verified"
    from retention.journeys import wording
    assert "solution" in wording.reason_words(touchpoints()["nps_day_30"].reason)
    [call] = verifications()
    closed_at = call.due_at
    answer(call, closed_at, held="yes")
    released = touchpoints()
    # Due again at once, in their original order, not after the gate's 24 hours.
    assert released["nps_day_30"].due_at == closed_at
    assert released["nps_day_90"].due_at == closed_at + dt.timedelta(seconds=1)
    assert released["nps_day_30"].reason is None
    tick(closed_at + dt.timedelta(seconds=2))
    released = touchpoints()
    assert released["nps_day_30"].status == released["nps_day_90"].status == "handed"
    assert db.session.scalar(select(func.count()).select_from(Survey)) == 2
    # Releasing again finds nothing left to release.
    assert resolution.release_waiting(db.session, case.customer_id, closed_at) == 0


def test_closing_one_case_keeps_surveys_waiting_while_another_is_open(client, signer, world):
    sell(client, signer, T0)
    first, second = open_case(T0 + dt.timedelta(days=20)), open_case(T0 + dt.timedelta(days=21))
    tick(T0 + dt.timedelta(days=31))
    service.move(db.session, db.session.get(Complaint, first.id), "closed", now=T0 + dt.timedelta(days=31, hours=1),
                 actor="staff:1")
    db.session.commit()
    assert touchpoints()["nps_day_30"].reason == "waiting: a complaint is open"
    service.move(db.session, db.session.get(Complaint, second.id), "closed",
                 now=T0 + dt.timedelta(days=31, hours=2), actor="staff:1")
    db.session.commit()
    assert touchpoints()["nps_day_30"].due_at == T0 + dt.timedelta(days=31, hours=2)


def test_apology_letter_is_queued_once_unless_asked_again(client, signer, world):
    sell(client, signer, T0)
    case = open_case()
    now = T0 + dt.timedelta(days=1)
    letter = resolution.queue_apology(db.session, case, now=now, actor="staff:1")
    db.session.commit()
    assert (letter.template_key, letter.language, letter.status) == ("apology", "ar", "queued")
    with pytest.raises(service.CaseConflict):
        resolution.queue_apology(db.session, case, now=now, actor="staff:1")
    db.session.rollback()
    resolution.queue_apology(db.session, case, now=now, actor="staff:1", again=True)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Letter).where(Letter.template_key == "apology")) == 2
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "complaint.apology_queued")) == 2


def test_two_requests_at_once_open_one_verification_call(client, signer, world):
    from tests.factories import in_other_apps

    sell(client, signer, T0)
    case = solve(open_case(), T0 + dt.timedelta(days=1))
    [call] = verifications()
    for _ in range(3):  # never reached: the case waits for the owner to ask again
        call = answer(call, call.due_at, outcome="no_answer")
    case_id, at = case.id, call.due_at + dt.timedelta(hours=1)

    def again(other):
        # No row lock taken first: the compare-and-set alone keeps it to one call.
        return resolution.schedule_verification(db.session, service.get_case(db.session, case_id),
                                                now=at, actor="staff:1") is not None and db.session.commit() is None

    assert sorted(in_other_apps(2, again)) == [False, True]
    calls = verifications()
    assert [c.status for c in calls] == ["done", "open"]
    assert db.session.get(Complaint, case_id).verification_touchpoint_id == calls[1].id


def test_verify_after_days_setting_is_checked_when_the_app_starts(monkeypatch, tmp_path):
    from retention.config import from_environment

    monkeypatch.setenv("RETENTION_ENV", "development")
    monkeypatch.setenv("RETENTION_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("RETENTION_COMPLAINT_VERIFY_AFTER_DAYS", "5")
    assert from_environment()["COMPLAINT_VERIFY_AFTER_DAYS"] == 5
    for bad in ("0", "301", "three"):
        monkeypatch.setenv("RETENTION_COMPLAINT_VERIFY_AFTER_DAYS", bad)
        with pytest.raises(RuntimeError, match="RETENTION_COMPLAINT_VERIFY_AFTER_DAYS"):
            from_environment()
