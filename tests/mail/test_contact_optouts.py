"""Letter and phone opt-outs stop every contact by that channel (issue 14): journey letter and call steps at
hand-out, letters still waiting to print, calls still open in someone's list, the calls the system opens
(recovery, fix-address, complaint verification), referral offers by letter and apology letters."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from retention.calls import adhoc, service as calls
from retention.complaints import resolution, service as complaints
from retention.complaints.models import CaseChange
from retention.customers.models import Customer
from retention.extensions import db
from retention.journeys import wording
from retention.journeys.models import Enrollment, Touchpoint
from retention.mail import optouts
from retention.postal import batches, service as postal
from retention.postal.models import Letter
from retention.postal.service import NothingToPrint
from retention.referrals.models import ReferralOffer
from retention.surveys import loop
from retention.surveys.models import NpsAnswer
from retention.tick import run as tick
from tests.factories import customer, event, sale_completed
from tests.referrals.conftest import make_program

UTC = dt.timezone.utc
SOLD = dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


@pytest.fixture(autouse=True)
def _sold_now(clock):
    clock.set(SOLD)  # events are processed at the time of the sale


def _customer(ref="C1", locale="en", **extra) -> dict:
    address = {"lines": ["12 High Street"], "city": "London", "region": "", "postal_code": "SW1A 1AA",
               "country": "GB"}
    return customer(ref, locale=locale, timezone="Europe/London", address=address, **extra)


def _sale(client, signer, queue, ref="C1", locale="en", **extra):
    signer.post(client, sale_completed(f"S-{ref}", cust=_customer(ref, locale, **extra), occurred_at=SOLD))
    queue.drain()
    return db.session.scalar(select(Customer).where(Customer.external_id == ref))


def _steps(cust) -> dict[str, Touchpoint]:
    db.session.expire_all()
    return {tp.step.key: tp for tp in db.session.scalars(select(Touchpoint).where(
        Touchpoint.customer_id == cust.id, Touchpoint.step_id.is_not(None)))}


def _words(tp, language):
    with force_locale(language):
        return wording.reason_words(tp.reason)


def test_journey_letter_and_call_steps_are_skipped_with_the_reason_in_words(app, client, signer, queue, world):
    signer.post(client, event("customer.upserted", {"customer": _customer()}, occurred_at=SOLD - dt.timedelta(days=1)))
    queue.drain()
    cust = db.session.scalar(select(Customer).where(Customer.external_id == "C1"))
    optouts.opt_out(db.session, cust.id, "letter", source="staff", now=SOLD, actor="test")
    optouts.opt_out(db.session, cust.id, "phone", source="staff", now=SOLD, actor="test")
    db.session.commit()
    _sale(client, signer, queue)  # the journey starts after the opt-outs: its steps are skipped when due
    assert _steps(cust)["check_in_call"].status == "scheduled"
    tick(SOLD + dt.timedelta(days=3, hours=2))
    steps = _steps(cust)
    letter, call = steps["welcome_letter"], steps["check_in_call"]
    assert (letter.status, call.status) == ("skipped", "skipped")
    assert call.handed_at is None and letter.handed_at is None
    assert db.session.scalar(select(Letter.id)) is None  # nothing for the printer
    owner = world["owners"][0] if call.owner_id == world["owners"][0].id else world["owners"][1]
    assert calls.my_calls(db.session, owner, SOLD + dt.timedelta(days=3, hours=2))["first"] == []
    assert _words(call, "en") == "Not called: the customer asked not to be phoned"
    assert _words(letter, "en") == "Not sent: the customer opted out of letters"
    for language in ("ar", "fa"):
        assert _words(call, language) not in ("", call.reason, _words(call, "en"))
        assert _words(letter, language) not in ("", letter.reason, _words(letter, "en"))


def test_opting_out_cancels_letters_waiting_to_print_and_closes_open_calls(app, client, signer, queue, world):
    keep = _sale(client, signer, queue, "C1")
    stop = _sale(client, signer, queue, "C2")
    tick(SOLD + dt.timedelta(hours=1))  # both welcome letters queued
    first_batch = batches.create_batch(db.session, filters={}, duplex=False, actor="test", now=SOLD)
    db.session.commit()
    assert first_batch.total == 2
    tick(SOLD + dt.timedelta(days=3, hours=2))  # the check-in calls are open in their owners' lists
    call = _steps(stop)["check_in_call"]
    assert call.status == "open"
    # a letter waiting for the next batch, too
    db.session.add(Letter(customer_id=stop.id, template_key="welcome", language="en", status="queued",
                          created_at=SOLD + dt.timedelta(days=3)))
    db.session.commit()

    now = SOLD + dt.timedelta(days=3, hours=3)
    optouts.opt_out(db.session, stop.id, "letter", source="staff", now=now, actor="test")
    optouts.opt_out(db.session, stop.id, "phone", source="staff", now=now, actor="test")
    db.session.commit()
    db.session.expire_all()
    assert {l.status for l in db.session.scalars(select(Letter).where(Letter.customer_id == stop.id))} == {"cancelled"}
    with pytest.raises(NothingToPrint):  # the waiting one never reaches a batch
        batches.create_batch(db.session, filters={}, duplex=False, actor="test", now=now)
    db.session.rollback()
    # the batch taken before the opt-out is laid out and printed without it
    built = batches.build_batch(db.session, first_batch.id, out_dir=Path(app.config["PRINT_PATH"]),
                                company=postal.company_from(app.config), today=now.date(), now=now)
    assert built.total == 1
    assert batches.mark_printed(db.session, built, now, actor="test") == 1
    db.session.commit()
    printed = {l.customer_id: l.status for l in db.session.scalars(select(Letter).where(Letter.batch_id == built.id))}
    assert printed == {keep.id: "printed", stop.id: "cancelled"}
    # the open call is closed with the reason, and stays out of every list
    call = _steps(stop)["check_in_call"]
    assert call.status == "skipped" and _words(call, "en") == "Not called: the customer asked not to be phoned"
    assert _steps(keep)["check_in_call"].status == "open"
    assert db.session.get(Enrollment, call.enrollment_id).status == "active"  # later steps still to come


def test_the_calls_the_system_opens_are_not_made_for_a_customer_who_asked_not_to_be_phoned(app, client, signer,
                                                                                           queue, world):
    cust = _sale(client, signer, queue)
    now = SOLD + dt.timedelta(days=1)
    optouts.opt_out(db.session, cust.id, "phone", source="staff", now=now, actor="test")
    db.session.commit()
    # a detractor's answer: the case is opened, the recovery call is kept as "not called"
    signer.post(client, event("nps.response", {"customer_id": "C1", "score": 2, "comment": "Broken"}, occurred_at=now))
    tick(now + dt.timedelta(minutes=5))
    db.session.expire_all()
    answer = db.session.scalar(select(NpsAnswer))
    recovery = db.session.get(Touchpoint, answer.call_id)
    assert (recovery.purpose, recovery.status, recovery.handed_at) == ("recovery", "skipped", None)
    assert answer.followed_up_at is not None
    # returned mail: the fix-address call is not made either
    letter = Letter(customer_id=cust.id, template_key="welcome", language="en", status="mailed", created_at=SOLD)
    db.session.add(letter)
    db.session.commit()
    returned = batches.record_returned(db.session, letter, now, actor="test", reason="moved")
    db.session.commit()
    fix = db.session.get(Touchpoint, returned.call_id)
    assert (fix.purpose, fix.status, fix.handed_at) == ("fix_address", "skipped", None)
    # a complaint's solution: no verification call, and the case says why
    case = complaints.open_case(db.session, cust, channel="email", category="product", summary="Broken",
                                severity="medium", source="event", external_id="HD-1", actor="test", now=now)
    db.session.flush()
    resolution.record_solution(db.session, case, "A new one was sent.", now=now, actor="test")
    db.session.commit()
    assert resolution.pending_verification(db.session, case) is None
    actions = list(db.session.scalars(select(CaseChange.action).where(CaseChange.case_id == case.id)))
    assert "verification_not_called" in actions and "verification_scheduled" not in actions
    # nothing of it in anyone's list; the timeline says the calls were not made, and why
    for owner in world["owners"]:
        assert not any(calls.my_calls(db.session, owner, now + dt.timedelta(days=5)).values())
    from retention.calls.timeline import adhoc_calls

    with app.test_request_context():
        titles = [(e.title, e.detail) for e in adhoc_calls(db.session, cust, 10)]
    assert ("Call not made: Recovery call: unhappy in the NPS survey",
            ["Not called: the customer asked not to be phoned"]) in titles
    # a person may still open a call the customer asked for
    asked = adhoc.open_call(cust, purpose="customer_request", now=now, actor="test", session=db.session)
    assert asked.status == "open"


def test_no_referral_letter_and_no_apology_letter_to_a_customer_who_opted_out_of_letters(app, client, signer, queue,
                                                                                        world):
    make_program(channel="auto")
    cust = _sale(client, signer, queue, email=None)  # auto: no email possible, so the offer would be a letter
    optouts.opt_out(db.session, cust.id, "letter", source="staff", now=SOLD, actor="test")
    db.session.commit()
    signer.post(client, event("nps.response", {"customer_id": "C1", "score": 10},
                              occurred_at=SOLD + dt.timedelta(days=30)))
    tick(SOLD + dt.timedelta(days=60, hours=12))
    offer_step = _steps(cust)["referral_offer"]
    assert db.session.scalar(select(ReferralOffer.id)) is None
    assert offer_step.status == "skipped"
    assert _words(offer_step, "en") == ("No referral offer: the offer would go by letter and the customer opted out "
                                        "of letters")
    postal.ensure_default_templates(db.session, SOLD)
    case = complaints.open_case(db.session, cust, channel="email", category="product", summary="Late",
                                severity="medium", source="event", external_id="HD-2", actor="test", now=SOLD)
    db.session.flush()
    with pytest.raises(complaints.ComplaintError) as refused:
        resolution.queue_apology(db.session, case, now=SOLD, actor="test")
    assert refused.value.field == "apology"
    assert db.session.scalar(select(Letter.id).where(Letter.template_key == "apology")) is None
