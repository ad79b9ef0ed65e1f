"""Closing the loop: a detractor's recovery case and call (due within one business day, first in My calls), a
passive's call, nothing doubled, one-click scores followed up only once they settle."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from retention.calls import service as calls
from retention.complaints.models import Complaint
from retention.extensions import db
from retention.journeys.models import Touchpoint
from retention.surveys import loop, tokens
from retention.surveys.models import NpsAnswer, Survey
from retention.tick import run as tick
from tests.surveys.conftest import T0, UTC

FRIDAY_EVENING = dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # 19:00 in Dubai, after hours
MONDAY_10_DUBAI = dt.datetime(2026, 3, 9, 6, 0, tzinfo=UTC)


def _sent(world, ref="C1"):
    survey = world.survey(world.customer(ref))
    tick(T0)
    db.session.expire_all()
    return tokens.token_of(db.session.get(Survey, survey.id))


def _answer(client, token, score, comment=""):
    page = client.get(f"/s/{token}").get_data(as_text=True)
    form = re.search(r'name="form_token" value="([0-9a-f]+)"', page).group(1)
    assert client.post(f"/s/{token}", data={"score": str(score), "comment": comment, "form_token": form}).status_code == 200
    db.session.expire_all()


def _adhoc_calls(purpose):
    return db.session.scalars(select(Touchpoint).where(Touchpoint.purpose == purpose)).all()


def test_a_detractor_opens_a_recovery_case_and_a_call_due_the_next_business_day_across_a_weekend(client, clock, world):
    token = _sent(world)
    clock.set(FRIDAY_EVENING)
    _answer(client, token, 3, "It broke after a week")
    answer = db.session.scalar(select(NpsAnswer))
    case = db.session.scalar(select(Complaint))
    assert (case.source, case.category, case.nps_answer_id, case.channel) == ("nps", "nps_detractor", answer.id, "email")
    assert case.owner_id == world.owner.id and case.status == "new"
    [call] = _adhoc_calls("recovery")
    assert call.owner_id == world.owner.id and call.status == "open" and answer.call_id == call.id
    assert call.due_at == MONDAY_10_DUBAI  # Saturday and Sunday are not business days
    assert call.note == "It broke after a week"
    # at the top of the owner's My calls, above every group
    groups = calls.my_calls(db.session, world.owner, FRIDAY_EVENING)
    assert [c.touchpoint.id for c in groups["first"]] == [call.id]
    assert groups["first"][0].flags[0] == "recovery"
    # answering again, or the tick, opens nothing more
    _answer(client, token, 2, "Still broken")
    tick(FRIDAY_EVENING + dt.timedelta(hours=1))
    assert db.session.scalar(select(func.count()).select_from(Complaint)) == 1
    assert len(_adhoc_calls("recovery")) == 1


def test_the_my_calls_page_shows_the_recovery_call_first(client, clock, auth, world):
    token = _sent(world)
    clock.set(T0 + dt.timedelta(hours=2))
    _answer(client, token, 1, "Never again")
    [call] = _adhoc_calls("recovery")
    assert call.due_at == T0 + dt.timedelta(hours=2)  # during business hours: due at once
    auth.login("omar@example.com")
    page = client.get("/calls/").get_data(as_text=True)
    first_card = re.search(r'<article class="card call" id="call-(\d+)"', page).group(1)
    assert int(first_card) == call.id and 'id="first"' in page


def test_a_passive_gets_a_what_would_make_it_a_10_call_and_no_case(client, clock, world):
    token = _sent(world)
    clock.set(T0 + dt.timedelta(hours=1))
    _answer(client, token, 8)
    assert db.session.scalar(select(func.count()).select_from(Complaint)) == 0
    [call] = _adhoc_calls("nps_passive")
    assert call.owner_id == world.owner.id


def test_a_passive_who_changes_to_a_detractor_still_gets_a_recovery_call(client, clock, world):
    token = _sent(world)
    clock.set(T0 + dt.timedelta(hours=1))
    _answer(client, token, 8)
    [passive] = _adhoc_calls("nps_passive")
    clock.set(T0 + dt.timedelta(hours=3))  # the last answer stands: now unhappy
    _answer(client, token, 2, "It broke")
    [call] = _adhoc_calls("recovery")
    assert call.owner_id == world.owner.id and call.status == "open" and call.note == "It broke"
    assert call.due_at == T0 + dt.timedelta(hours=3)  # during business hours: due at once
    assert db.session.scalar(select(NpsAnswer.call_id)) == call.id
    assert db.session.scalar(select(Complaint.summary)) == "NPS 2/10: It broke"
    # one call about one answer: the passive question left the owner's list, superseded, with the reason
    db.session.refresh(passive)
    assert passive.status == "skipped" and passive.reason == "superseded by the recovery call"
    groups = calls.my_calls(db.session, world.owner, T0 + dt.timedelta(hours=3))
    assert [c.touchpoint.id for cards in groups.values() for c in cards] == [call.id]
    # answering again within the same class, or the tick, opens nothing more
    _answer(client, token, 3, "Still broken")
    tick(T0 + dt.timedelta(hours=4))
    assert len(_adhoc_calls("recovery")) == 1 and _adhoc_calls("nps_passive") == [passive]


def test_the_timeline_says_why_the_passive_call_closed_in_the_readers_language(app, client, clock, auth, world):
    from tests.factories import staff

    token = _sent(world)
    clock.set(T0 + dt.timedelta(hours=1))
    _answer(client, token, 8)
    clock.set(T0 + dt.timedelta(hours=3))
    _answer(client, token, 2, "It broke")
    auth.login("omar@example.com")
    page = client.get("/customers/C1").get_data(as_text=True)
    assert "Call closed: What would make it a 10?" in page
    assert "Superseded by another call: Recovery call: unhappy in the NPS survey" in page
    client.post("/logout", data={"csrf_token": auth.csrf("/customers/")})
    staff(app, "sara@example.com", "onboarding", locale="fa")
    auth.login("sara@example.com")
    page = client.get("/customers/C1").get_data(as_text=True)
    assert "تماس بسته شد: چه چیزی آن را به ۱۰ می‌رساند؟" in page  # said in Persian
    assert "تماس دیگری جای آن را گرفت: تماس جبرانی: ناراضی در نظرسنجی NPS" in page


def test_a_passive_call_a_person_holds_becomes_the_recovery_call_instead_of_a_second_call(client, clock, world):
    token = _sent(world)
    clock.set(T0 + dt.timedelta(hours=1))
    _answer(client, token, 8, "Good, a bit loud")
    [passive] = _adhoc_calls("nps_passive")
    promised = T0 + dt.timedelta(days=1, hours=2)  # Thursday 12:00 in Dubai, the time the customer asked for
    calls.log_outcome(db.session, passive.id, staff=world.owner, outcome="call_back", now=T0 + dt.timedelta(hours=2),
                      call_back_at=promised)
    db.session.commit()
    clock.set(T0 + dt.timedelta(hours=3))
    _answer(client, token, 2, "It broke")
    # no second call: the held call is now the recovery call, at the time promised, with the new comment
    [call] = db.session.scalars(select(Touchpoint).where(Touchpoint.purpose.is_not(None))).all()
    assert call.id == passive.id and call.purpose == "recovery" and call.status == "open"
    assert call.due_at == promised and call.held_at is not None and call.owner_id == world.owner.id
    assert call.note == "It broke" and call.reason == "customer asked to be called back"
    assert db.session.scalar(select(NpsAnswer.call_id)) == call.id
    assert db.session.scalar(select(Complaint.summary)) == "NPS 2/10: It broke"  # the case opens as always
    groups = calls.my_calls(db.session, world.owner, T0 + dt.timedelta(hours=3))
    assert [c.touchpoint.id for c in groups["first"]] == [call.id]  # on top, as a recovery call
    assert sum(len(cards) for cards in groups.values()) == 1
    # the tick or another answer in the same class opens nothing more
    _answer(client, token, 1, "Still broken")
    tick(T0 + dt.timedelta(hours=4))
    assert db.session.scalar(select(func.count()).select_from(Touchpoint).where(Touchpoint.purpose.is_not(None))) == 1


def test_the_timeline_of_a_held_call_that_became_the_recovery_call_keeps_what_it_was_opened_for(
        client, clock, auth, world):
    token = _sent(world)
    clock.set(T0 + dt.timedelta(hours=1))
    _answer(client, token, 7)
    [passive] = _adhoc_calls("nps_passive")
    calls.snooze(db.session, passive.id, hours=4, now=T0 + dt.timedelta(hours=2), actor=f"staff:{world.owner.id}")
    db.session.commit()
    clock.set(T0 + dt.timedelta(hours=3))
    _answer(client, token, 5)
    auth.login("omar@example.com")
    page = client.get("/customers/C1").get_data(as_text=True)
    assert "Call opened: What would make it a 10?" in page
    assert "Call changed to: Recovery call: unhappy in the NPS survey" in page
    assert "Its time and owner stay as they were" in page


def test_a_detractor_answer_to_another_survey_supersedes_the_passive_call_too(client, clock, world):
    from retention.surveys import service

    customer = world.customer("C1")
    service.record_answer(db.session, customer, 8, "ok", T0, source="event", now=T0)
    loop.follow_up_settled(db.session, T0)
    [passive] = _adhoc_calls("nps_passive")
    later = T0 + dt.timedelta(days=2)
    service.record_answer(db.session, customer, 3, "worse now", later, source="event", now=later)
    loop.follow_up_settled(db.session, later)
    db.session.expire_all()
    [call] = _adhoc_calls("recovery")
    assert call.status == "open" and db.session.get(Touchpoint, passive.id).status == "skipped"
    assert db.session.get(Touchpoint, passive.id).reason == "superseded by the recovery call"


def test_a_detractor_who_changes_to_a_passive_or_a_promoter_keeps_the_case_and_its_one_call(client, clock, world):
    token = _sent(world)
    clock.set(T0 + dt.timedelta(hours=1))
    _answer(client, token, 3, "It broke")
    [call] = _adhoc_calls("recovery")
    case = db.session.scalar(select(Complaint))
    clock.set(T0 + dt.timedelta(hours=2))
    _answer(client, token, 8, "They fixed it")
    # no passive call beside the recovery call: the recovery call, still to make, covers the new answer
    assert _adhoc_calls("nps_passive") == []
    assert db.session.scalar(select(NpsAnswer.call_id)) == call.id
    clock.set(T0 + dt.timedelta(hours=3))
    _answer(client, token, 10, "Great now")
    tick(T0 + dt.timedelta(hours=4))
    db.session.expire_all()
    # a complaint case is closed by people, never by a later score; its call stays in the owner's list
    assert db.session.get(Complaint, case.id).status == "new"
    assert db.session.get(Touchpoint, call.id).status == "open"
    assert db.session.scalar(select(func.count()).select_from(Touchpoint).where(Touchpoint.purpose.is_not(None))) == 1


def test_a_promoter_gets_no_call_and_is_eligible_for_offers(client, clock, world):
    from retention.surveys.registration import nps_facts

    token = _sent(world)
    clock.set(T0 + dt.timedelta(hours=1))
    _answer(client, token, 10)
    assert db.session.scalar(select(func.count()).select_from(Touchpoint).where(Touchpoint.purpose.is_not(None))) == 0
    answer = db.session.scalar(select(NpsAnswer))
    assert answer.followed_up_at is not None
    assert nps_facts(db.session, {answer.customer_id})[answer.customer_id]["nps_category"] == "promoter"


def test_a_one_click_score_is_followed_up_once_it_settled(client, clock, world):
    token = _sent(world)
    clock.set(T0 + dt.timedelta(hours=1))
    for score in (0, 10, 4):  # a link scanner opening links, then the customer's own click
        client.get(f"/s/{token}?score={score}")
    tick(T0 + dt.timedelta(hours=1, minutes=5))
    assert db.session.scalar(select(func.count()).select_from(Complaint)) == 0
    tick(T0 + dt.timedelta(hours=1, minutes=11))
    db.session.expire_all()
    assert db.session.scalar(select(Complaint.summary)) == "NPS 4/10"
    assert len(_adhoc_calls("recovery")) == 1


def test_the_journeys_own_recovery_step_is_skipped_when_the_loop_opened_the_call(client, signer, queue, clock, world):
    from retention.journeys.service import ensure_default_journey
    from tests.factories import customer as customer_data, sale_completed

    ensure_default_journey(db.session, dt.datetime(2026, 1, 1, tzinfo=UTC))
    db.session.commit()
    sold = dt.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    signer.post(client, sale_completed(cust=customer_data("C1", locale="en"), occurred_at=sold))
    tick(sold)
    day30 = sold + dt.timedelta(days=30, hours=1)
    tick(day30)
    db.session.expire_all()
    survey = db.session.scalar(select(Survey))
    assert survey.status == "sent" and survey.sale_id is not None
    clock.set(day30 + dt.timedelta(minutes=5))
    _answer(client, tokens.token_of(survey), 2, "Bad")
    tick(sold + dt.timedelta(days=40))
    db.session.expire_all()
    steps = {tp.step.key: tp for tp in db.session.scalars(select(Touchpoint).where(Touchpoint.step_id.is_not(None)))}
    assert steps["detractor_recovery_call"].status == "skipped"
    assert steps["detractor_recovery_call"].reason == loop.STEP_REPLACED
    recovery = [tp for tp in db.session.scalars(select(Touchpoint).where(Touchpoint.kind == "call",
                                                                         Touchpoint.status == "open"))
                if tp.purpose == "recovery"]
    assert len(recovery) == 1


def test_the_customers_timeline_shows_the_survey_the_answer_and_the_calls(app, client, clock, auth, world):
    from tests.factories import staff

    token = _sent(world)
    skipped = world.survey(world.customer("C2"), wanted="letter", created=T0)
    skipped_customer = skipped.customer_id
    from retention.mail.optouts import opt_out

    opt_out(db.session, skipped_customer, "letter", source="staff", now=T0, actor="test")
    db.session.commit()
    tick(T0)
    clock.set(T0 + dt.timedelta(hours=1))
    _answer(client, token, 4, "Too noisy")
    auth.login("omar@example.com")
    page = client.get("/customers/C1").get_data(as_text=True)
    assert "NPS survey sent by Email" in page and "NPS answer: 4 (Detractor)" in page and "Too noisy" in page
    assert "Recovery call: unhappy in the NPS survey" in page
    other = client.get("/customers/C2").get_data(as_text=True)
    assert "NPS survey not sent" in other and "Opted out of letters" in other
    client.post("/logout", data={"csrf_token": auth.csrf("/customers/")})
    staff(app, "mia@example.com", "marketing", locale="fa")
    auth.login("mia@example.com")
    page = client.get("/customers/C1").get_data(as_text=True)
    assert "پاسخ NPS" in page
    assert "Too noisy" not in page  # marketing does not read the customer's words on the timeline
