"""Ninety-day journeys: enrollment, late steps, delivery, refunds, the tick, conditions, pauses, versions."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from retention.extensions import db
from retention.journeys import service as journeys
from retention.journeys.models import Enrollment, Touchpoint
from retention.postal.models import Letter
from retention.referrals.models import ReferralOffer
from retention.surveys.models import Survey
from retention.tick import run as tick
from tests.factories import customer, event, in_other_apps, sale_completed

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # Monday 10:00 in Dubai


def touchpoints(customer_ref="C1") -> dict[str, Touchpoint]:
    db.session.expire_all()
    rows = db.session.scalars(select(Touchpoint).join(Touchpoint.customer)
                              .where(Touchpoint.customer.has(external_id=customer_ref))).all()
    return {tp.step.key: tp for tp in rows if tp.step is not None}  # ad-hoc calls (e.g. verifications) have none


def sell(client, signer, now, sale_id="S1", cust=None, occurred_at=None, **extra):
    assert signer.post(client, sale_completed(sale_id, cust=cust, occurred_at=occurred_at or now, **extra)).status_code == 202
    return tick(now)


def test_sale_enrolls_customer_with_one_touchpoint_per_step(client, signer, world):
    sell(client, signer, T0)
    tps = touchpoints()
    assert len(tps) == 10
    # day 2 check-in call at 10:00 Dubai, a business day (Wednesday), owned by an onboarding person
    call = tps["check_in_call"]
    assert call.due_at == dt.datetime(2026, 3, 4, 6, 0, tzinfo=UTC)
    assert call.owner is not None and call.owner.role == "onboarding"
    assert tps["check_in_call"].customer.owner_id == call.owner_id
    # the welcome letter (day 0) was handed out by the same tick
    assert tps["welcome_letter"].status == "handed"
    assert db.session.scalar(select(Letter.template_key)) == "welcome"


def test_second_sale_during_the_journey_does_not_restart_it(client, signer, world):
    sell(client, signer, T0)
    sell(client, signer, T0 + dt.timedelta(days=5), sale_id="S2")
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 1


def test_sale_after_the_journey_ended_starts_a_new_one(client, signer, world):
    sell(client, signer, T0)
    tick(T0 + dt.timedelta(days=200))  # everything due has been handed out; calls wait for outcomes
    enrollment = db.session.scalar(select(Enrollment))
    enrollment.status = "completed"
    db.session.commit()
    sell(client, signer, T0 + dt.timedelta(days=201), sale_id="S2")
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 2


def test_backdated_sale_skips_past_steps_instead_of_a_burst_of_overdue_calls(client, signer, world):
    sold = T0 - dt.timedelta(days=40)
    sell(client, signer, T0, occurred_at=sold)
    tps = touchpoints()
    for key in ("welcome_letter", "check_in_call", "how_is_it_going_call", "nps_day_30"):
        assert tps[key].status == "skipped", key
        assert tps[key].reason.startswith("enrolled late"), key
    assert tps["check_in_day_45"].status == "scheduled"
    assert db.session.scalar(select(func.count()).select_from(Letter)) == 0


def test_delivery_re_anchors_the_planned_steps(client, signer, world):
    sell(client, signer, T0)
    before = touchpoints()["how_is_it_going_call"].due_at
    delivered = T0 + dt.timedelta(days=4)
    signer.post(client, event("sale.delivered", {"sale_id": "S1", "delivered_at": delivered.isoformat()},
                              occurred_at=delivered))
    tick(delivered)
    after = touchpoints()["how_is_it_going_call"].due_at
    # day 14 from Friday 6 March is Friday 20 March: Eid al-Fitr in the UAE, so the first working
    # hours of both customer and owner are on Monday the 23rd
    assert before == dt.datetime(2026, 3, 16, 6, 0, tzinfo=UTC)
    assert after == dt.datetime(2026, 3, 23, 6, 0, tzinfo=UTC)
    assert touchpoints()["welcome_letter"].status == "handed"  # what was done stays done


def test_refund_mid_journey_exits_and_cancels_what_is_pending_keeping_history(client, signer, world):
    sell(client, signer, T0)
    later = T0 + dt.timedelta(days=3)
    signer.post(client, event("sale.refunded", {"sale_id": "S1", "reason": "changed mind"}, occurred_at=later))
    tick(later)
    tps = touchpoints()
    assert tps["welcome_letter"].status == "handed"
    assert tps["check_in_day_45"].status == "cancelled"
    assert "sale.refunded" in tps["check_in_day_45"].reason
    enrollment = db.session.scalar(select(Enrollment))
    assert enrollment.status == "exited" and "changed mind" in enrollment.exit_reason
    # nothing more is handed out, even ninety days on
    tick(T0 + dt.timedelta(days=95))
    assert db.session.scalar(select(func.count()).select_from(Survey)) == 0


def test_churn_exits_every_journey_of_the_customer(client, signer, world):
    sell(client, signer, T0)
    signer.post(client, event("customer.churned", {"customer_id": "C1", "reason": "moved"}))
    tick(T0 + dt.timedelta(days=1))
    assert db.session.scalar(select(Enrollment.status)) == "exited"


def test_survey_step_creates_a_survey_to_send_when_due(client, signer, world):
    sell(client, signer, T0)
    tick(T0 + dt.timedelta(days=29))
    assert db.session.scalar(select(func.count()).select_from(Survey)) == 0
    tick(T0 + dt.timedelta(days=31))
    assert db.session.scalar(select(func.count()).select_from(Survey)) == 1


def test_step_whose_condition_turned_false_is_skipped(client, signer, world):
    sell(client, signer, T0)
    # the customer answers 10 (a promoter): the detractor recovery call must not happen
    signer.post(client, event("nps.response", {"customer_id": "C1", "score": 10}, occurred_at=T0 + dt.timedelta(days=30)))
    tick(T0 + dt.timedelta(days=35))
    tps = touchpoints()
    assert tps["detractor_recovery_call"].status == "skipped"
    assert tps["detractor_recovery_call"].reason == "condition was false when due"
    assert tps["passive_call"].status == "skipped"
    from tests.referrals.conftest import make_program

    make_program()  # a referral program runs (retention/referrals): the offer is made, not skipped for want of one
    tick(T0 + dt.timedelta(days=64))
    assert touchpoints()["referral_offer"].status == "handed"
    assert db.session.scalar(select(func.count()).select_from(ReferralOffer)) == 1


def test_detractor_gets_the_recovery_call_and_no_referral_offer(client, signer, world):
    sell(client, signer, T0)
    signer.post(client, event("nps.response", {"customer_id": "C1", "score": 3}, occurred_at=T0 + dt.timedelta(days=30)))
    tick(T0 + dt.timedelta(days=64))
    tps = touchpoints()
    assert tps["detractor_recovery_call"].status == "open"
    assert tps["referral_offer"].status == "skipped"


def test_open_complaint_holds_back_surveys(client, signer, world):
    sell(client, signer, T0)
    signer.post(client, event("complaint.opened", {"complaint_id": "K1", "customer_id": "C1", "channel": "phone",
                                                   "category": "delivery", "summary": "box damaged"},
                              occurred_at=T0 + dt.timedelta(days=20)))
    day31 = T0 + dt.timedelta(days=31)
    tick(day31)
    survey = touchpoints()["nps_day_30"]
    assert survey.status == "scheduled" and "complaint" in survey.reason
    signer.post(client, event("complaint.resolved", {"complaint_id": "K1", "resolution": "replaced"},
                              occurred_at=day31))
    tick(day31 + dt.timedelta(days=2))
    # A solution offered is not the end: the survey waits until the verification call closes the case.
    assert touchpoints()["nps_day_30"].status == "scheduled"
    from retention.complaints import service as complaints
    from retention.complaints.models import Complaint
    case = db.session.scalar(select(Complaint))
    closed = day31 + dt.timedelta(days=2, hours=3)
    complaints.move(db.session, case, "closed", now=closed, actor="staff:1")
    db.session.commit()
    tick(closed)  # released at once when the case closes, not a day later (tests/complaints/test_resolution.py)
    assert touchpoints()["nps_day_30"].status == "handed"


def test_two_ticks_at_once_never_hand_out_a_touchpoint_twice(app, client, signer, world):
    for n in range(30):
        signer.post(client, sale_completed(f"S{n}", cust=customer(f"C{n}"), occurred_at=T0))
    tick(T0 - dt.timedelta(days=1))  # events applied, nothing due yet
    due = T0 + dt.timedelta(days=95)
    from retention.journeys.handout import hand_out_all, write_handed_work

    def hand_out_then_write(other):  # each runner writes the work rows too, in batches of 7, at the same time
        handed = hand_out_all(db.session, due, limit=7)
        written = {"written": 0}
        while (part := write_handed_work(db.session, due, limit=7))["written"]:
            written["written"] += part["written"]
        return {**handed, **written}

    results = in_other_apps(2, hand_out_then_write)
    assert sum(r["claimed"] for r in results) == 30 * 10
    assert sum(r["written"] for r in results) == 30 * 4  # two surveys and two letters each
    assert db.session.scalar(select(func.count()).select_from(Survey)) == 60  # two surveys each, once
    assert db.session.scalar(select(func.count()).select_from(Letter)) == 60


def test_tick_killed_half_way_loses_nothing(app, client, signer, world):
    sell(client, signer, T0)
    from retention.journeys import handout

    original = handout.complete_finished

    def die(*args, **kwargs):
        raise KeyboardInterrupt("worker killed")

    handout.complete_finished = die
    try:
        try:
            handout.hand_out(db.session, T0 + dt.timedelta(days=3))
        except KeyboardInterrupt:
            db.session.rollback()
    finally:
        handout.complete_finished = original
    assert touchpoints()["check_in_call"].status == "scheduled"  # rolled back, still due
    tick(T0 + dt.timedelta(days=3))
    assert touchpoints()["check_in_call"].status == "open"


def test_pause_holds_steps_and_resume_moves_them_by_the_pause_length(client, signer, world):
    sell(client, signer, T0)
    enrollment = db.session.scalar(select(Enrollment))
    before = touchpoints()["how_is_it_going_call"].due_at
    journeys.pause(db.session, enrollment, T0 + dt.timedelta(days=1), actor="test")
    db.session.commit()
    tick(T0 + dt.timedelta(days=20))
    assert touchpoints()["check_in_call"].status == "paused"  # nothing handed out while paused
    signer.post(client, event("nps.response", {"customer_id": "C1", "score": 8}))
    tick(T0 + dt.timedelta(days=20))
    from retention.surveys.models import NpsAnswer

    assert db.session.scalar(select(func.count()).select_from(NpsAnswer)) == 1  # events still recorded
    journeys.resume(db.session, db.session.get(Enrollment, enrollment.id), T0 + dt.timedelta(days=11),
                    actor="test")
    db.session.commit()
    assert touchpoints()["how_is_it_going_call"].due_at == before + dt.timedelta(days=10)
    assert touchpoints()["how_is_it_going_call"].status == "scheduled"


def _edited_steps():
    steps = [dict(s) for s in journeys.DEFAULT_JOURNEY["steps"]]
    steps[2]["day_offset"] = 21  # how-is-it-going moves from day 14 to day 21
    return steps


def _two_customers_mid_way(client, signer):
    sell(client, signer, T0, "S1", customer("C1"))
    sell(client, signer, T0 + dt.timedelta(days=3), "S2", customer("C2"), occurred_at=T0 + dt.timedelta(days=3))
    # C1 has had its check-in call handed out (started); C2 enrolled later, welcome letter done
    tick(T0 + dt.timedelta(days=3))


def test_edit_keep_leaves_customers_mid_way_on_their_version(client, signer, world):
    _two_customers_mid_way(client, signer)
    impact = journeys.edit_impact(db.session, "first-90-days", T0 + dt.timedelta(days=3))
    new, moved = journeys.edit_journey(db.session, "first-90-days", steps=_edited_steps(), choice="keep",
                                       now=T0 + dt.timedelta(days=3), actor="test")
    db.session.commit()
    assert impact["keep"].customers == moved.customers == 0
    assert touchpoints("C1")["how_is_it_going_call"].step.journey.version == 1
    sell(client, signer, T0 + dt.timedelta(days=4), "S3", customer("C3"), occurred_at=T0 + dt.timedelta(days=4))
    assert touchpoints("C3")["how_is_it_going_call"].step.journey.version == 2


def test_edit_move_replans_future_steps_of_everyone_mid_way(client, signer, world):
    _two_customers_mid_way(client, signer)
    impact = journeys.edit_impact(db.session, "first-90-days", T0 + dt.timedelta(days=3))
    assert impact["move"].customers == 2
    _, moved = journeys.edit_journey(db.session, "first-90-days", steps=_edited_steps(), choice="move",
                                     now=T0 + dt.timedelta(days=3), actor="test")
    db.session.commit()
    assert moved.customers == 2
    c1 = touchpoints("C1")
    rows = db.session.scalars(select(Touchpoint).where(Touchpoint.customer.has(external_id="C1"),
                                                       Touchpoint.status != "cancelled")).all()
    current = {tp.step.key: tp for tp in rows}
    assert current["how_is_it_going_call"].step.journey.version == 2
    # anchored on delivery (not reported, so the sale date): day 21 after Monday 2 March, 10:00 Dubai
    assert current["how_is_it_going_call"].due_at == dt.datetime(2026, 3, 23, 6, 0, tzinfo=UTC)
    assert c1 and len([tp for tp in rows if tp.step.key == "welcome_letter"]) == 1  # done step not redone


def test_edit_new_entrants_only_moves_only_those_who_have_not_started(client, signer, world):
    sell(client, signer, T0, "S1", customer("C1"))
    tick(T0 + dt.timedelta(days=3))  # C1 started (letter and first call handed out)
    sell(client, signer, T0 + dt.timedelta(days=3), "S2", customer("C2"), occurred_at=T0 + dt.timedelta(days=10))
    impact = journeys.edit_impact(db.session, "first-90-days", T0 + dt.timedelta(days=3))
    assert {choice: plan.customers for choice, plan in impact.items()} == {"keep": 0, "move": 2, "new_only": 1}
    _, moved = journeys.edit_journey(db.session, "first-90-days", steps=_edited_steps(), choice="new_only",
                                     now=T0 + dt.timedelta(days=3), actor="test")
    db.session.commit()
    assert moved.customers == 1
    assert db.session.scalar(select(Enrollment).where(Enrollment.customer.has(external_id="C1"))).journey.version == 1
    assert db.session.scalar(select(Enrollment).where(Enrollment.customer.has(external_id="C2"))).journey.version == 2


def test_capacity_full_for_every_owner_still_gives_the_customer_an_owner(client, signer, world):
    for owner in world["owners"]:
        owner.daily_call_capacity = 1
    db.session.commit()
    for n in range(4):  # four customers, same day: two owners with room for one call each that day
        signer.post(client, sale_completed(f"S{n}", cust=customer(f"C{n}"), occurred_at=T0))
    tick(T0)
    owners = [touchpoints(f"C{n}")["check_in_call"].owner_id for n in range(4)]
    assert None not in owners  # nobody is left without a person to call them
    ids = [o.id for o in world["owners"]]
    assert sorted(owners[:2]) == sorted(ids)  # round-robin while there is room
    # over capacity: the least-loaded owner takes the extra customers, and the load shows it
    from retention.journeys.reports import call_load

    load = call_load(db.session, T0, days=7)
    day = load["days"][2]
    assert sum(load["rows"][o.id]["counts"][2] for o in world["owners"]) == 4
    assert any(load["rows"][o.id]["counts"][2] > o.daily_call_capacity for o in world["owners"])
    assert day == dt.date(2026, 3, 4)


def test_tick_command_walks_a_customer_through_ninety_days(app, client, signer, world):
    signer.post(client, sale_completed(occurred_at=T0))
    runner = app.test_cli_runner()
    for day in (0, 2, 30, 60, 90):
        result = runner.invoke(args=["tick", "--now", (T0 + dt.timedelta(days=day, hours=6)).isoformat()])
        assert result.exit_code == 0, result.output
    tps = touchpoints()
    assert tps["thank_you_letter"].status == "handed" and tps["nps_day_90"].status == "handed"
    assert runner.invoke(args=["tick", "--now", "yesterday"]).exit_code != 0
