"""Calls: outcomes, retries on the next business day, silence, snooze, reschedule, reassign, My calls."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from retention.calls import service as calls
from retention.customers.models import Customer
from retention.extensions import db
from retention.journeys.models import Touchpoint
from retention.staff.models import StaffUser
from retention.tick import run as tick
from tests.factories import customer, event, sale_completed, staff

UTC = dt.timezone.utc


def berlin_customer(cid="C1"):
    return customer(cid, name="Jonas Weber", locale="de", timezone="Europe/Berlin", phone="+4930123456",
                    address={"lines": ["Unter den Linden 77"], "city": "Berlin", "postal_code": "10117",
                             "country": "DE"})


@pytest.fixture
def berlin(app, world):
    """One owner in Berlin, 09:00-18:00, so windows are easy to read."""
    for owner in world["owners"]:
        owner.active = False
    owner = staff(app, "lena@example.com", "onboarding", timezone="Europe/Berlin", country="DE", name="Lena",
                  work_start="09:00", work_end="18:00")
    return owner


def the_call(step="check_in_call", cid="C1") -> Touchpoint:
    db.session.expire_all()
    return db.session.scalar(select(Touchpoint).join(Touchpoint.step).where(
        Touchpoint.customer.has(external_id=cid), Touchpoint.step.has(key=step)))


def test_friday_evening_no_answer_retries_on_monday(client, signer, berlin):
    sold = dt.datetime(2026, 6, 8, 8, 0, tzinfo=UTC)  # Monday
    signer.post(client, sale_completed(cust=berlin_customer(), occurred_at=sold))
    tick(sold)
    friday_evening = dt.datetime(2026, 6, 12, 17, 30, tzinfo=UTC)  # 19:30 in Berlin
    calls.log_outcome(db.session, the_call().id, staff=berlin, outcome="no_answer", now=friday_evening)
    db.session.commit()
    assert the_call().due_at == dt.datetime(2026, 6, 15, 8, 0, tzinfo=UTC)  # Monday 10:00 Berlin
    assert the_call().status == "scheduled" and "retry 2 of 3" in the_call().reason


def test_friday_evening_no_answer_before_a_public_holiday_retries_on_tuesday(client, signer, berlin):
    sold = dt.datetime(2026, 5, 18, 8, 0, tzinfo=UTC)
    signer.post(client, sale_completed(cust=berlin_customer(), occurred_at=sold))
    tick(sold)
    friday_evening = dt.datetime(2026, 5, 22, 17, 30, tzinfo=UTC)  # Whit Monday 25 May 2026 is a holiday in DE
    calls.log_outcome(db.session, the_call().id, staff=berlin, outcome="voicemail", now=friday_evening)
    db.session.commit()
    assert the_call().due_at == dt.datetime(2026, 5, 26, 8, 0, tzinfo=UTC)  # Tuesday 10:00 Berlin


def test_call_lands_in_the_customers_hours_and_the_owners_hours(client, signer, world):
    # owner in London 09:00-17:00 only; customer in Dubai 10:00-18:00: overlap 13:00-18:00 Dubai
    for owner in world["owners"]:
        owner.active = owner.timezone == "Europe/London"
    db.session.commit()
    sold = dt.datetime(2026, 6, 8, 4, 0, tzinfo=UTC)
    signer.post(client, sale_completed(occurred_at=sold))
    tick(sold)
    due = the_call().due_at
    assert due == dt.datetime(2026, 6, 10, 8, 0, tzinfo=UTC)  # 09:00 London (BST) = 12:00 Dubai


def test_three_unanswered_calls_and_no_survey_answer_flag_the_customer_silent(client, signer, berlin):
    sold = dt.datetime(2026, 6, 8, 8, 0, tzinfo=UTC)
    signer.post(client, sale_completed(cust=berlin_customer(), occurred_at=sold))
    tick(sold)
    now = dt.datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
    for _ in range(3):
        calls.log_outcome(db.session, the_call().id, staff=berlin, outcome="no_answer", now=now)
        db.session.commit()
        now = the_call().due_at + dt.timedelta(minutes=5)
    assert the_call().status == "done" and "not reached after 3 attempts" in the_call().reason
    assert db.session.scalar(select(Customer)).silent_at is not None
    # an NPS answer later means the customer is not silent after all
    signer.post(client, event("nps.response", {"customer_id": "C1", "score": 7}))
    tick(now)
    db.session.expire_all()
    assert db.session.scalar(select(Customer)).silent_at is None


def test_call_backs_reached_the_customer_so_only_tries_that_did_not_count_towards_the_limit(client, signer, berlin):
    sold = dt.datetime(2026, 6, 8, 8, 0, tzinfo=UTC)
    signer.post(client, sale_completed(cust=berlin_customer(), occurred_at=sold))
    tick(sold)
    now = dt.datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
    for _ in range(2):  # reached twice: "call me back tomorrow"
        calls.log_outcome(db.session, the_call().id, staff=berlin, outcome="call_back", now=now,
                          call_back_at=now + dt.timedelta(days=1))
        db.session.commit()
        assert the_call().status == "scheduled" and the_call().reason == "customer asked to be called back"
        now = the_call().due_at + dt.timedelta(minutes=5)
    for n in range(1, calls.MAX_CALL_ATTEMPTS):  # no answer: open until the limit of tries that did not reach them
        calls.log_outcome(db.session, the_call().id, staff=berlin, outcome="no_answer", now=now)
        db.session.commit()
        assert the_call().status == "scheduled", n
        assert the_call().reason == f"retry {n + 1} of {calls.MAX_CALL_ATTEMPTS} after no_answer"
        now = the_call().due_at + dt.timedelta(minutes=5)
    calls.log_outcome(db.session, the_call().id, staff=berlin, outcome="voicemail", now=now)
    db.session.commit()
    assert the_call().status == "done" and the_call().reason == "not reached after 3 attempts"
    assert the_call().attempts == 5  # every call made (the API's `attempts`)
    assert calls.unreached_tries(db.session, [the_call().id]) == {the_call().id: 3}
    # the customer was reached (twice), so not silent: "never reached" would be false
    assert db.session.scalar(select(Customer)).silent_at is None


def test_a_call_back_clears_the_silent_flag_it_proves_wrong(client, signer, berlin):
    sold = dt.datetime(2026, 6, 8, 8, 0, tzinfo=UTC)
    signer.post(client, sale_completed(cust=berlin_customer(), occurred_at=sold))
    tick(sold)
    db.session.scalar(select(Customer)).silent_at = sold
    db.session.commit()
    now = dt.datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
    calls.log_outcome(db.session, the_call().id, staff=berlin, outcome="call_back", now=now,
                      call_back_at=now + dt.timedelta(hours=3))
    db.session.commit()
    assert db.session.scalar(select(Customer)).silent_at is None


def test_reached_outcome_closes_the_call_with_notes(client, signer, berlin):
    sold = dt.datetime(2026, 6, 8, 8, 0, tzinfo=UTC)
    signer.post(client, sale_completed(cust=berlin_customer(), occurred_at=sold))
    tick(sold)
    tp = calls.log_outcome(db.session, the_call().id, staff=berlin, outcome="reached", notes="loves it",
                           sentiment="happy", now=sold + dt.timedelta(days=2))
    db.session.commit()
    assert tp.status == "done" and tp.outcome == "reached"
    with pytest.raises(calls.CallConflict, match="touchpoint: This call is no longer waiting"):
        calls.log_outcome(db.session, tp.id, staff=berlin, outcome="reached", now=sold + dt.timedelta(days=2))


def test_call_back_at_a_given_time_and_bad_outcomes_are_refused(client, signer, berlin):
    sold = dt.datetime(2026, 6, 8, 8, 0, tzinfo=UTC)
    signer.post(client, sale_completed(cust=berlin_customer(), occurred_at=sold))
    tick(sold)
    now = sold + dt.timedelta(days=2)
    with pytest.raises(calls.CallError, match="outcome"):
        calls.log_outcome(db.session, the_call().id, staff=berlin, outcome="hung_up", now=now)
    with pytest.raises(calls.CallError, match="call_back_at"):
        calls.log_outcome(db.session, the_call().id, staff=berlin, outcome="call_back", now=now)
    later = now + dt.timedelta(days=1, hours=3)
    calls.log_outcome(db.session, the_call().id, staff=berlin, outcome="call_back", now=now, call_back_at=later)
    db.session.commit()
    assert the_call().due_at == later and the_call().status == "scheduled"


def test_snooze_reschedule_and_reassign_many(app, client, signer, berlin):
    sold = dt.datetime(2026, 6, 8, 8, 0, tzinfo=UTC)
    for n in range(3):
        signer.post(client, sale_completed(f"S{n}", cust=berlin_customer(f"C{n}"), occurred_at=sold))
    tick(sold)
    now = dt.datetime(2026, 6, 10, 15, 30, tzinfo=UTC)  # 17:30 Berlin
    calls.snooze(db.session, the_call(cid="C0").id, hours=1, now=now, actor="test")
    db.session.commit()
    assert the_call(cid="C0").due_at == dt.datetime(2026, 6, 11, 8, 0, tzinfo=UTC)  # past 18:00: next morning
    with pytest.raises(calls.CallError, match="due_at"):
        calls.reschedule(db.session, the_call(cid="C1").id, due_at=now - dt.timedelta(hours=1), now=now, actor="test")
    other = staff(app, "mia@example.com", "onboarding", timezone="Europe/Berlin", country="DE")
    ids = [the_call(cid=f"C{n}").id for n in range(3)]
    assert calls.reassign(db.session, ids, owner_id=other.id, actor="test", now=now) == 3
    db.session.commit()
    assert {the_call(cid=f"C{n}").owner_id for n in range(3)} == {other.id}
    assert the_call("how_is_it_going_call", "C2").owner_id == other.id  # the customer's later calls too
    with pytest.raises(calls.CallError, match="owner_id"):
        calls.reassign(db.session, ids, owner_id=db.session.scalar(select(StaffUser.id).where(
            StaffUser.role == "admin")) or 9999, actor="test", now=now)


def test_my_calls_page_shows_context_and_logs_an_outcome(app, client, auth, signer, berlin):
    sold = dt.datetime.now(UTC) - dt.timedelta(days=3)
    signer.post(client, sale_completed(cust=berlin_customer(), occurred_at=sold, amount="1290.00", currency="EUR"))
    tick(dt.datetime.now(UTC))
    auth.login("lena@example.com")
    page = client.get("/calls/").get_data(as_text=True)
    assert "Jonas Weber" in page and "Check-in call" in page and "€1,290.00" in page
    assert "Did everything arrive in good condition?" in page  # the step's call script, in English
    csrf = auth.csrf("/calls/")
    response = client.post(f"/calls/{the_call().id}/outcome",
                           data={"csrf_token": csrf, "outcome": "reached", "notes": "all good", "sentiment": "happy"})
    assert response.status_code == 302
    timeline = client.get("/customers/C1").get_data(as_text=True)
    assert "Call: reached" in timeline and "all good" in timeline
    bad = client.post(f"/calls/{the_call().id}/outcome", data={"csrf_token": csrf, "outcome": "reached"})
    assert bad.status_code == 409  # already done: a clear message, nothing changed
    assert "This call is no longer waiting" in bad.get_data(as_text=True)


def test_work_page_draws_the_load_chart_and_journey_report(app, client, auth, signer, berlin, clock):
    # A Tuesday late morning in Berlin: the welcome letter (due at 10:00 there) goes out with this tick; at night
    # it would wait for the morning, and the customer would not be at the check-in call yet.
    morning = clock.set(dt.datetime(2026, 11, 24, 11, 30, tzinfo=ZoneInfo("Europe/Berlin")))
    signer.post(client, sale_completed(cust=berlin_customer(), occurred_at=morning))
    tick(morning)
    auth.login("lena@example.com")
    page = client.get("/reports/work").get_data(as_text=True)
    assert 'id="load-chart"' in page and 'id="journey-chart"' in page
    assert 'data-step="check_in_call" data-count="1"' in page


def test_snooze_and_reschedule_from_the_page(app, client, auth, signer, berlin):
    signer.post(client, sale_completed(cust=berlin_customer(), occurred_at=dt.datetime.now(UTC)))
    tick(dt.datetime.now(UTC))
    auth.login("lena@example.com")
    csrf = auth.csrf("/calls/")
    call = the_call()
    past = client.post(f"/calls/{call.id}/reschedule", data={"csrf_token": csrf, "due_at": "2020-01-01T10:00"})
    assert past.status_code == 422  # the page again, the message next to the field, the time typed kept
    assert "Choose a time between now and" in past.get_data(as_text=True)
    assert 'value="2020-01-01T10:00"' in past.get_data(as_text=True)
    later = (dt.datetime.now(UTC) + dt.timedelta(days=5)).astimezone(
        ZoneInfo("Europe/Berlin")).replace(hour=11, minute=0, second=0, microsecond=0)
    ok = client.post(f"/calls/{call.id}/reschedule",
                     data={"csrf_token": csrf, "due_at": later.strftime("%Y-%m-%dT%H:%M")})
    assert ok.status_code == 302 and the_call().due_at == later.astimezone(UTC)
    assert client.post(f"/calls/{call.id}/snooze", data={"csrf_token": csrf, "hours": "0"}).status_code == 422
    assert client.post(f"/calls/{call.id}/snooze", data={"csrf_token": csrf, "hours": "4"}).status_code == 302
    assert the_call().reason == "snoozed 4 h"
