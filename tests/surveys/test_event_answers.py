"""An NPS answer another system sends (`nps.response`) is followed up like a survey's (issue 14): a detractor's
recovery case and call within one business day, a passive's call; once per answer, never doubling the follow-up
of a survey answer of the same period."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from retention.complaints.models import Complaint
from retention.extensions import db
from retention.journeys.models import Touchpoint
from retention.surveys.models import NpsAnswer
from retention.tick import run as tick
from tests.factories import event
from tests.surveys.conftest import T0, UTC
from tests.surveys.test_loop import _answer, _sent

FRIDAY_EVENING = dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # 19:00 in Dubai, after hours
MONDAY_10_DUBAI = dt.datetime(2026, 3, 9, 6, 0, tzinfo=UTC)


def _nps_event(client, signer, score, at, ref="C1", comment=None):
    data = {"customer_id": ref, "score": score, **({"comment": comment} if comment else {})}
    return signer.post(client, event("nps.response", data, occurred_at=at))


def _calls(purpose):
    db.session.expire_all()
    return db.session.scalars(select(Touchpoint).where(Touchpoint.purpose == purpose)).all()


def test_a_detractor_event_opens_the_recovery_case_and_a_call_within_one_business_day(client, signer, clock, world):
    world.customer("C1")
    clock.set(FRIDAY_EVENING)
    _nps_event(client, signer, 3, FRIDAY_EVENING, comment="Arrived broken")
    tick(FRIDAY_EVENING)
    answer = db.session.scalar(select(NpsAnswer))
    case = db.session.scalar(select(Complaint))
    assert (case.source, case.category, case.nps_answer_id) == ("nps", "nps_detractor", answer.id)
    [call] = _calls("recovery")
    assert call.status == "open" and call.owner_id == world.owner.id and answer.call_id == call.id
    assert call.due_at == MONDAY_10_DUBAI and call.note == "Arrived broken"
    # the tick again opens nothing more
    tick(FRIDAY_EVENING + dt.timedelta(hours=1))
    assert len(_calls("recovery")) == 1
    assert db.session.scalar(select(func.count()).select_from(Complaint)) == 1


def test_a_passive_event_gets_its_call_and_a_promoter_none(client, signer, clock, world):
    world.customer("C1")
    world.customer("C2")
    clock.set(T0)
    _nps_event(client, signer, 8, T0, ref="C1")
    _nps_event(client, signer, 10, T0, ref="C2")
    tick(T0)
    [call] = _calls("nps_passive")
    assert call.due_at == T0 and call.status == "open"
    assert _calls("recovery") == [] and db.session.scalar(select(func.count()).select_from(Complaint)) == 0
    assert db.session.scalar(select(func.count()).select_from(NpsAnswer).where(
        NpsAnswer.followed_up_at.is_(None))) == 0


def test_an_event_answer_never_doubles_the_follow_up_of_a_survey_answer_of_the_same_period(client, signer, clock,
                                                                                          world):
    token = _sent(world)
    clock.set(T0 + dt.timedelta(hours=1))
    _answer(client, token, 2, "Bad")
    [call] = _calls("recovery")
    later = T0 + dt.timedelta(days=3)
    clock.set(later)
    _nps_event(client, signer, 4, later)  # the shop's own system asked again
    tick(later)
    event_answer = db.session.scalar(select(NpsAnswer).where(NpsAnswer.survey_id.is_(None)))
    assert event_answer.call_id == call.id and event_answer.followed_up_at is not None
    assert len(_calls("recovery")) == 1
    assert db.session.scalar(select(func.count()).select_from(Complaint)) == 1


def test_an_old_answer_from_an_import_only_feeds_the_facts(client, signer, clock, world):
    world.customer("C1")
    clock.set(T0)
    _nps_event(client, signer, 1, T0 - dt.timedelta(days=60))
    tick(T0)
    assert _calls("recovery") == [] and db.session.scalar(select(func.count()).select_from(Complaint)) == 0
    assert db.session.scalar(select(NpsAnswer.score)) == 1
