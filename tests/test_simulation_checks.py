"""The simulation's checks (bench/sim/checks.py): a small real run keeps every promise (each check counts 0), and
each check counts exactly the one violation planted in it afterwards."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from bench.sim import checks
from retention.complaints import service as complaints
from retention.complaints.models import CaseChange, Complaint
from retention.customers.models import Customer, Sale
from retention.extensions import db
from retention.journeys import service as journeys
from retention.journeys.models import Enrollment, Touchpoint
from retention.mail.models import OutboundEmail
from retention.mail.optouts import opt_out
from retention.postal.models import Letter
from retention.postal.service import ensure_default_templates
from retention.referrals.models import LedgerEntry, Referral, ReferralOffer
from retention.surveys import service as surveys
from retention.surveys.models import NpsAnswer, Survey
from retention.tick import run as tick
from tests.factories import customer, event, sale_completed
from tests.factories import staff
from tests.referrals.conftest import NOW, make_program

UTC = dt.timezone.utc
DAY = dt.timedelta(days=1)
END = NOW + 61 * DAY + dt.timedelta(hours=2)


def at(days: float, hours: float = 1) -> dt.datetime:
    return NOW + dt.timedelta(days=days, hours=hours)


class World:
    """Two customers through sixty days of the default journey: C1 a promoter (an offer at day 60), C2 a detractor
    (a recovery case and call from the day-30 survey, escalated when its targets pass)."""

    def __init__(self, client, signer):
        self.client, self.signer = client, signer
        make_program()
        for cid in ("C1", "C2"):
            signer.post(client, sale_completed(f"S-{cid}", cust=customer(cid), occurred_at=NOW))
        signer.post(client, event("nps.response", {"customer_id": "C1", "score": 10}, occurred_at=at(29)))
        for day in (0, 30):  # a tick hands out everything due by then (times stay as planned)
            tick(at(day))
        survey = db.session.scalar(select(Survey).where(Survey.customer_id == self.customer("C2").id))
        surveys.answer_survey(db.session, survey, 3, "It broke", at(30, 2), settle=None)
        db.session.commit()
        for day in (30.1, 61):
            tick(at(day))
        db.session.expire_all()

    def customer(self, ref: str) -> Customer:
        return db.session.scalar(select(Customer).where(Customer.external_id == ref))

    def check(self, fn, **facts) -> checks.CheckResult:
        db.session.expire_all()
        return fn(checks.Context(db.session, {"now": END, **facts}))

    def calls(self, ref: str) -> list[Touchpoint]:
        return db.session.scalars(select(Touchpoint).where(Touchpoint.customer_id == self.customer(ref).id,
                                                           Touchpoint.kind == "call").order_by(Touchpoint.id)).all()


@pytest.fixture
def world(app, client, signer):
    """The default journey and its owner (letters are queued, never laid out here: no templates needed)."""
    journeys.ensure_default_journey(db.session, NOW)
    staff(app, "omar@example.com", "onboarding", name="Omar Haddad", timezone="Asia/Dubai", country="AE")
    return World(client, signer)


def _counts(world, **facts) -> dict[str, int]:
    db.session.expire_all()
    return {r.name: r.violations for r in checks.run_all(db.session, {"now": END, **facts})}


def test_a_real_run_keeps_every_promise(world):
    offer = db.session.scalar(select(ReferralOffer))
    assert offer is not None and offer.customer_id == world.customer("C1").id
    assert db.session.scalar(select(NpsAnswer).where(NpsAnswer.score == 3)).call_id is not None
    assert db.session.scalar(select(Complaint)).escalated_at is not None  # the recovery case's targets passed
    results = checks.run_all(db.session, {"now": END})
    assert [r.name for r in results] == [fn(checks.Context(db.session, {"now": END})).name for fn in checks.CHECKS]
    assert {r.name: r.violations for r in results} == {r.name: 0 for r in results}, checks.report(results)
    assert "0  no survey inside the cooldown" in checks.report(results)


def _survey(cust: Customer, sent: dt.datetime, channel="email") -> Survey:
    row = Survey(customer_id=cust.id, status="sent", channel=channel, created_at=sent, sent_at=sent)
    db.session.add(row)
    db.session.commit()
    return row


def test_a_survey_inside_the_cooldown_or_to_an_opted_out_channel_is_counted(world):
    c1 = world.customer("C1")
    assert world.check(checks.survey_cooldown_and_channel).violations == 0
    planted = _survey(c1, at(45))  # 15 days after the day-30 survey
    result = world.check(checks.survey_cooldown_and_channel)
    assert result.violations == 1 and f"survey {planted.id}" in result.examples[0]
    db.session.delete(planted)
    opt_out(db.session, c1.id, "letter", source="staff", now=at(50), actor="test")
    db.session.commit()
    _survey(c1, at(61), channel="email")  # 31 days later, by email: allowed
    assert world.check(checks.survey_cooldown_and_channel).violations == 0
    _survey(c1, at(95), channel="letter")  # past the cooldown again, but by letter after opting out of letters
    result = world.check(checks.survey_cooldown_and_channel, now=at(96))
    assert result.violations == 1 and "opted out of letter" in result.examples[0]


def _offer(cust: Customer, made: dt.datetime, **values) -> ReferralOffer:
    original = db.session.scalar(select(ReferralOffer))
    row = ReferralOffer(customer_id=cust.id, sale_id=cust.sales[0].id, status="made", created_at=made,
                        program_id=original.program_id, code=values.pop("code", "ZZZZ2345"),
                        reward_amount=values.pop("reward_amount", original.reward_amount), currency="USD",
                        **values)
    db.session.add(row)
    db.session.commit()
    return row


def test_an_offer_to_a_non_promoter_or_too_early_is_counted(world):
    assert world.check(checks.referral_offer_eligibility).violations == 0
    _offer(world.customer("C1"), at(40))  # a promoter (score 10 at day 29), but 30 days + return window: day 30
    assert world.check(checks.referral_offer_eligibility).violations == 0
    db.session.query(ReferralOffer).filter(ReferralOffer.code == "ZZZZ2345").delete()
    _offer(world.customer("C1"), at(20))  # before the eligibility day (and before the score: no NPS yet)
    result = world.check(checks.referral_offer_eligibility)
    assert result.violations == 2, (result.examples, checks.Context(db.session, {"now": at(70)}).complaint_spans()[c2.id] if hasattr(checks, "Context") else None)
    assert any("eligible only from" in e for e in result.examples) and any("latest NPS None" in e for e in result.examples)


def test_a_survey_or_offer_while_a_complaint_is_open_is_counted(world):
    c1 = world.customer("C1")
    assert world.check(checks.nothing_asked_during_complaint).violations == 0
    case = complaints.open_case(db.session, c1, channel="phone", category="delivery", summary="Late", now=at(62),
                                actor="test", source="event", external_id="H-1")
    db.session.commit()
    _offer(c1, at(63))
    result = world.check(checks.nothing_asked_during_complaint, now=at(70))
    assert result.violations == 1 and "had a complaint open" in result.examples[0]
    complaints.move(db.session, case, "closed", now=at(64), actor="test")
    db.session.commit()
    _survey(c1, at(65))  # after it closed
    assert world.check(checks.nothing_asked_during_complaint, now=at(70)).violations == 1
    # while a solution is being verified (the case itself closed by then): the verification call's time counts
    db.session.add(Touchpoint(customer_id=c1.id, kind="call", purpose="complaint_verification", status="open",
                              due_at=at(66), handed_at=at(66), owner_id=c1.owner_id))
    db.session.commit()
    _survey(c1, at(67))
    assert world.check(checks.nothing_asked_during_complaint, now=at(70)).violations == 2
    # a case opened in the instant a survey went out came after it (sending locks the customer: no survey goes out
    # beside a case being written); one open a moment earlier is counted
    world.signer.post(world.client, sale_completed("S-C3", cust=customer("C3"), occurred_at=at(60)))
    tick(at(60))  # applies the sale
    c3 = world.customer("C3")
    complaints.open_case(db.session, c3, channel="phone", category="delivery", summary="Late", now=at(68),
                         actor="test", source="event", external_id="H-3")
    db.session.commit()
    _survey(c3, at(68))
    assert world.check(checks.nothing_asked_during_complaint, now=at(70)).violations == 2
    _survey(c3, at(68) + dt.timedelta(seconds=1))
    assert world.check(checks.nothing_asked_during_complaint, now=at(70)).violations == 3
    # the same for a referral offer (the hand-out locks the customer too)
    _offer(c3, at(68), code="ZZZZ2346")
    assert world.check(checks.nothing_asked_during_complaint, now=at(70)).violations == 3
    _offer(c3, at(68) + dt.timedelta(seconds=1), code="ZZZZ2347")
    assert world.check(checks.nothing_asked_during_complaint, now=at(70)).violations == 4


def test_a_call_outside_the_customers_or_the_owners_hours_is_counted(world):
    assert world.check(checks.calls_inside_hours).violations == 0
    call = world.calls("C1")[0]
    # 16:30 in Dubai: inside the customer's 10:00-18:00 and the owner's 09:00-17:00
    call.due_at = dt.datetime(2026, 3, 4, 12, 30, tzinfo=UTC)
    db.session.commit()
    assert world.check(checks.calls_inside_hours).violations == 0
    call.due_at = dt.datetime(2026, 3, 4, 13, 30, tzinfo=UTC)  # 17:30 Dubai: the owner has gone home
    db.session.commit()
    result = world.check(checks.calls_inside_hours)
    assert result.violations == 1 and "working hours" in result.examples[0]
    call.due_at = dt.datetime(2026, 3, 4, 4, 0, tzinfo=UTC)  # 08:00 Dubai: too early for the customer too
    db.session.commit()
    result = world.check(checks.calls_inside_hours)
    assert result.violations == 1 and "customer" in result.examples[0]
    # a time a person chose (the customer asked to be called back then) is theirs
    db.session.add(checks.AuditEntry(at=at(5), actor="staff:1", action="call.rescheduled", entity_type="touchpoint",
                                     entity_id=str(call.id), changes={}))
    db.session.commit()
    assert world.check(checks.calls_inside_hours).violations == 0
    # an owner away on the day of the still open day-45 calls (C1's and C2's)
    pending = [c for c in world.calls("C1") + world.calls("C2") if c.status == "open" and c.step is not None
               and c.step.key == "check_in_day_45"]
    day = pending[0].due_at.date()
    result = world.check(checks.calls_inside_hours, absences={pending[0].owner_id: [(day, day)]})
    assert result.violations == len(pending) == 2 and all("away" in e for e in result.examples)


def test_a_covered_call_is_judged_by_who_had_it_and_when_they_work_it(app, world):
    """The time was chosen for Omar (Dubai); Liam (London) covers it once it is overdue: his hours are asked at the
    cover, not at a due time that was never his. A no answer that ended a call leaves the call-back time stand."""
    from retention.calls.models import CallAttempt

    liam = staff(app, "liam@example.com", "onboarding", name="Liam Walsh", timezone="Europe/London", country="GB")
    call = world.calls("C1")[0]
    omar_id = call.owner_id
    call.due_at = dt.datetime(2026, 3, 4, 6, 30, tzinfo=UTC)  # 10:30 in Dubai (customer and Omar), 06:30 in London
    call.owner_id, call.covering_for_id = liam.id, omar_id
    cover = checks.AuditEntry(at=dt.datetime(2026, 3, 4, 10, 0, tzinfo=UTC), actor="system:absence",
                              action="call.covered", entity_type="touchpoint", entity_id=str(call.id),
                              changes={"owner_id": liam.id, "from_owner_id": omar_id, "covering_for_id": omar_id,
                                       "due_at": call.due_at.isoformat(), "held": False})
    db.session.add(cover)
    db.session.commit()
    assert world.check(checks.calls_inside_hours).violations == 0  # overdue when covered at 10:00, Liam at work
    cover.at = dt.datetime(2026, 3, 4, 18, 0, tzinfo=UTC)  # covered after Liam went home
    db.session.commit()
    result = world.check(checks.calls_inside_hours)
    assert result.violations == 1 and f"by owner {liam.id}" in result.examples[0]
    assert "Europe/London" in result.examples[0] and "Asia/Dubai" in result.examples[0]
    cover.changes = {**cover.changes, "held": True}  # the old, not a person's time kept: still judged
    db.session.commit()
    assert world.check(checks.calls_inside_hours).violations == 1
    db.session.delete(cover)
    call.owner_id, call.covering_for_id = omar_id, None
    # C2's call: the customer asked for 19:00 (a person's time), then did not answer the last try: no new time
    other = world.calls("C2")[0]
    asked, last_try = dt.datetime(2026, 3, 4, 15, 0, tzinfo=UTC), dt.datetime(2026, 3, 4, 15, 5, tzinfo=UTC)
    other.due_at, other.status, other.outcome, other.completed_at = asked, "done", "no_answer", last_try
    db.session.add_all([
        CallAttempt(touchpoint_id=other.id, customer_id=other.customer_id, staff_id=omar_id,
                    at=dt.datetime(2026, 3, 3, 8, 0, tzinfo=UTC), outcome="call_back", call_back_at=asked),
        CallAttempt(touchpoint_id=other.id, customer_id=other.customer_id, staff_id=omar_id, at=last_try,
                    outcome="no_answer")])
    db.session.commit()
    assert world.check(checks.calls_inside_hours).violations == 0
    other.status, other.completed_at = "scheduled", None  # a retry the rule planned at 19:00 would break it
    db.session.commit()
    result = world.check(checks.calls_inside_hours)
    assert result.violations == 1 and f"call {other.id}" in result.examples[0]
    assert "customer's hours" in result.examples[0]


def test_contact_after_a_refund_churn_or_opt_out_is_counted(world):
    c1, c2 = world.customer("C1"), world.customer("C2")
    world.signer.post(world.client, event("customer.churned", {"customer_id": "C1"}, occurred_at=at(62)))
    tick(at(62))
    assert world.check(checks.no_contact_after_stop, now=at(63)).violations == 0
    enrollment = db.session.scalar(select(Enrollment).where(Enrollment.customer_id == c1.id))
    assert enrollment.status == "exited"
    # the day-90 letter handed after the churn
    letter_step = db.session.scalar(select(Touchpoint).where(Touchpoint.enrollment_id == enrollment.id,
                                                             Touchpoint.kind == "letter", Touchpoint.status == "cancelled"))
    letter_step.status, letter_step.handed_at = "handed", at(90)
    db.session.commit()
    result = world.check(checks.no_contact_after_stop, now=at(91))
    assert result.violations == 1 and "after customer.churned" in result.examples[0]
    letter_step.status, letter_step.handed_at = "cancelled", None
    # an email sent to C2 after opting out of email
    opt_out(db.session, c2.id, "email", source="staff", now=at(63), actor="test")
    db.session.add(OutboundEmail(ref="planted", kind="journey", customer_id=c2.id, to_address="c2@example.net",
                                 subject="Hi", text="Hi", message_id="<planted@x>", status="sent", attempts=1,
                                 next_attempt_at=at(64), sent_at=at(64), created_at=at(62)))
    db.session.commit()
    result = world.check(checks.no_contact_after_stop, now=at(65))
    assert result.violations == 1 and "opted out of email" in result.examples[0]


def test_a_letter_to_a_customer_opted_out_of_letters_is_counted_unless_it_was_cancelled_before_posting(world):
    c2 = world.customer("C2")
    opt_out(db.session, c2.id, "letter", source="staff", now=at(63), actor="test")
    planted = Letter(customer_id=c2.id, sale_id=c2.sales[0].id, template_key="nps_survey", language="en",
                     status="queued", created_at=at(63))  # the same instant as the opt-out
    db.session.add(planted)
    db.session.commit()
    result = world.check(checks.no_contact_after_stop, now=at(64))
    assert result.violations == 1 and f"letter {planted.id} queued" in result.examples[0]
    planted.status = "cancelled"  # the opt-out's hook cancelled it: it never left the mail room
    db.session.commit()
    assert world.check(checks.no_contact_after_stop, now=at(64)).violations == 0


def test_a_reward_outside_its_programs_rule_is_counted(world):
    assert world.check(checks.rewards_inside_rule).violations == 0
    offer = db.session.scalar(select(ReferralOffer))
    friend = Customer(external_id="F1", name="Friend", created_at=at(61), updated_at=at(61))
    db.session.add(friend)
    db.session.flush()
    sale = Sale(external_id="S-F1", customer=friend, amount=Decimal("100"), currency="USD", product="Cup",
                sold_at=at(61))
    db.session.add(sale)
    db.session.flush()
    referral = Referral(sale_id=sale.id, friend_customer_id=friend.id, code=offer.code, offer_id=offer.id,
                        program_id=offer.program_id, status="earned", reward_amount=offer.reward_amount,
                        currency="USD", sale_amount=sale.amount, sale_currency="USD", created_at=at(61),
                        earn_at=at(91), earned_at=at(91))
    db.session.add(referral)
    db.session.flush()
    db.session.add(LedgerEntry(referral_id=referral.id, customer_id=offer.customer_id, program_id=offer.program_id,
                               kind="reward", amount=offer.reward_amount, currency="USD",
                               reward_type="account_credit", at=at(91)))
    db.session.commit()
    assert world.check(checks.rewards_inside_rule, now=at(92)).violations == 0
    offer.reward_amount = Decimal("35")  # 5% of 649 rounds to 30 (a step of 5); the referral still says 30
    referral.reward_amount = Decimal("35")
    db.session.execute(LedgerEntry.__table__.update().values(amount=Decimal("35")))
    db.session.commit()
    result = world.check(checks.rewards_inside_rule, now=at(92))
    assert result.violations == 1 and "the rule gives 30" in result.examples[0]


def test_a_touchpoint_left_behind_or_handed_twice_is_counted(world):
    assert world.check(checks.touchpoints_handled_once).violations == 0
    c1 = world.customer("C1")
    # the day-90 steps are not due yet at the end of the run
    later = db.session.scalars(select(Touchpoint).where(Touchpoint.customer_id == c1.id,
                                                       Touchpoint.status == "scheduled")).all()
    assert later and all(tp.due_at > END for tp in later)
    later[0].due_at = END - dt.timedelta(hours=3)  # due three hours before the end, never handed out
    db.session.commit()
    result = world.check(checks.touchpoints_handled_once)
    assert result.violations == 1 and "still scheduled" in result.examples[0]
    later[0].due_at = END + DAY
    letter = db.session.scalar(select(Letter).where(Letter.touchpoint_id.is_not(None)))
    db.session.add(Letter(touchpoint_id=None, customer_id=letter.customer_id, template_key="welcome",
                          created_at=at(1)))
    db.session.delete(letter)  # its step shows handed, but its letter is gone
    db.session.commit()
    result = world.check(checks.touchpoints_handled_once)
    assert result.violations == 1 and "handed with 0 work rows" in result.examples[0]


def test_a_held_call_lost_by_a_journey_edit_is_counted(world):
    from retention.calls import service as calls

    open_call = next(c for c in world.calls("C1") if c.status == "open")
    calls.snooze(db.session, open_call.id, hours=48, now=at(61, 3), actor="staff:1")
    db.session.commit()
    held_due = open_call.due_at
    ensure_default_templates(db.session, NOW)  # the edit checks the letter steps' templates
    current = journeys.current_version(db.session, "first-90-days")
    specs = [{f: getattr(s, f) for f in journeys.STEP_FIELDS} for s in current.steps
             if s.key != open_call.step.key]  # the new version drops the held call's step
    journeys.edit_journey(db.session, "first-90-days", steps=specs, choice="move", now=at(61, 4), actor="test")
    db.session.commit()
    assert world.check(checks.held_calls_kept, now=at(62),
                       held_before_edit={open_call.id: held_due}).violations == 0
    db.session.execute(Touchpoint.__table__.update().where(Touchpoint.id == open_call.id)
                       .values(status="skipped", reason="version 2: was due 2026-03-04"))
    db.session.commit()
    result = world.check(checks.held_calls_kept, now=at(62))
    assert result.violations == 1 and f"call {open_call.id}" in result.examples[0]


def _opened_entry(call_id: int):
    return db.session.scalar(select(checks.AuditEntry).where(checks.AuditEntry.action == "call.opened",
                                                             checks.AuditEntry.entity_id == str(call_id)))


def test_a_detractor_without_a_recovery_call_in_time_is_counted(world):
    from retention.calls import service as calls

    assert world.check(checks.detractors_called).violations == 0
    answer = db.session.scalar(select(NpsAnswer).where(NpsAnswer.score == 3))
    call = db.session.get(Touchpoint, answer.call_id)
    # staff put the call off by five days: the promise is about when it was opened, so still kept
    calls.snooze(db.session, call.id, hours=120, now=at(61, 3), actor="staff:1")
    db.session.commit()
    assert call.due_at > answer.answered_at + 4 * DAY
    assert world.check(checks.detractors_called).violations == 0
    # a recovery call opened five days late breaks it
    entry = _opened_entry(call.id)
    entry.changes = {**entry.changes, "due_at": (answer.answered_at + 5 * DAY).isoformat()}
    db.session.commit()
    result = world.check(checks.detractors_called)
    assert result.violations == 1 and "NPS 3 (survey)" in result.examples[0]
    # an answer sent as an event gets its own recovery call now (surveys/loop.py), so holding every detractor to
    # the promise finds nothing more
    world.signer.post(world.client, event("nps.response", {"customer_id": "C1", "score": 2}, occurred_at=at(61)))
    tick(at(61, 1.5))
    assert world.check(checks.detractors_called, now=at(63)).violations == 1
    assert world.check(checks.detractors_called, now=at(63), detractor_sources=("survey", "event")).violations == 1


def test_a_detractor_followed_up_already_opted_out_of_calls_or_sent_late_is_owed_no_new_call(world):
    """The cases where the app rightly opens no recovery call (surveys/loop.py, surveys/service.py)."""
    from retention.hooks.models import InboundEvent
    from retention.surveys import loop

    c1, c2 = world.customer("C1"), world.customer("C2")
    first = db.session.scalar(select(NpsAnswer).where(NpsAnswer.score == 3))
    # C2, unhappy again four days later: linked to the recovery call still in the owner's list, never doubled
    again = surveys.answer_survey(db.session, _survey(c2, at(33)), 4, "", at(34), settle=None)
    db.session.commit()
    loop.follow_up_settled(db.session, at(34))
    assert again.call_id == first.call_id
    assert world.check(checks.detractors_called).violations == 0
    # linked again 45 days after a call made long ago: counted
    call = db.session.get(Touchpoint, first.call_id)
    call.status, call.completed_at = "done", at(31)
    late = NpsAnswer(customer_id=c2.id, survey_id=_survey(c2, at(74)).id, score=2, answered_at=at(75),
                     first_answered_at=at(75), follow_up_due_at=at(75), followed_up_at=at(75), call_id=call.id)
    db.session.add(late)
    db.session.commit()
    result = world.check(checks.detractors_called, now=at(80))
    assert result.violations == 1 and f"answer {late.id}" in result.examples[0]
    db.session.delete(late)
    db.session.commit()
    # an answer another system sends ten days after it was given only feeds the facts
    world.signer.post(world.client, event("nps.response", {"customer_id": "C1", "score": 1}, occurred_at=at(35)))
    tick(at(45))
    old = db.session.scalar(select(NpsAnswer).where(NpsAnswer.customer_id == c1.id, NpsAnswer.score == 1))
    assert old.follow_up_due_at is None and old.call_id is None
    assert world.check(checks.detractors_called).violations == 0
    processed = db.session.get(InboundEvent, old.event_id)
    processed.processed_at = at(37)  # had it come two days after, it was owed a call
    db.session.commit()
    result = world.check(checks.detractors_called)
    assert result.violations == 1 and "NPS 1 (event)" in result.examples[0]
    processed.processed_at = at(45)
    # C1 asks not to be called, then answers unhappy: the call is kept as skipped, in nobody's list
    opt_out(db.session, c1.id, "phone", source="staff", now=at(46), actor="test")
    db.session.commit()
    unhappy = surveys.answer_survey(db.session, _survey(c1, at(46)), 2, "", at(47), settle=None)
    db.session.commit()
    loop.follow_up_settled(db.session, at(47))
    skipped = db.session.get(Touchpoint, unhappy.call_id)
    assert (skipped.purpose, skipped.status, skipped.handed_at) == ("recovery", "skipped", None)
    assert world.check(checks.detractors_called).violations == 0


def test_a_cairo_detractor_with_a_dubai_owner_is_called_on_their_first_shared_business_day(world):
    """Cairo rests Friday and Saturday, Dubai Saturday and Sunday: answered on a Friday, the call is due Monday
    morning (the first moment both work), within one business day on both calendars."""
    from retention.surveys import loop

    friday = dt.datetime(2026, 5, 8, 10, 0, tzinfo=UTC)
    assert friday.weekday() == 4
    world.signer.post(world.client, sale_completed("S-C3", cust=customer("C3", timezone="Africa/Cairo", address={
        "lines": ["Tahrir Square 1"], "city": "Cairo", "region": "", "postal_code": "", "country": "EG"}),
        occurred_at=friday - 40 * DAY))
    tick(friday - DAY)  # the event is processed, the customer enrolled with an owner
    c3 = world.customer("C3")
    assert c3.country == "EG" and c3.owner.timezone == "Asia/Dubai"
    survey = _survey(c3, friday - DAY)
    answer = surveys.answer_survey(db.session, survey, 2, "Cold coffee", friday, settle=None)
    db.session.commit()
    loop.follow_up_settled(db.session, friday)
    call = db.session.get(Touchpoint, answer.call_id)
    monday = dt.datetime(2026, 5, 11, 7, 0, tzinfo=UTC)  # 10:00 in Cairo, 11:00 in Dubai
    assert call.due_at == monday
    assert world.check(checks.detractors_called, now=friday + 4 * DAY).violations == 0
    entry = _opened_entry(call.id)  # opened for Tuesday instead: late on both calendars
    entry.changes = {**entry.changes, "due_at": (monday + DAY).isoformat()}
    db.session.commit()
    result = world.check(checks.detractors_called, now=friday + 4 * DAY)
    assert result.violations == 1 and f"customer {c3.id}" in result.examples[0]


def test_a_complaint_past_its_target_and_never_escalated_is_counted(world):
    assert world.check(checks.complaint_sla).violations == 0
    case = db.session.scalar(select(Complaint))
    db.session.query(CaseChange).filter(CaseChange.case_id == case.id, CaseChange.action == "escalated").delete()
    db.session.commit()
    result = world.check(checks.complaint_sla)
    # the first response was met (it came from the detractor's answer: new until someone acts) or not?
    assert result.violations >= 1 and all(f"complaint {case.id}" in e for e in result.examples)
    assert result.violations == (2 if case.first_response_at is None else 1)
