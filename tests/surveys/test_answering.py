"""The public survey page: one click records, the form changes the answer (last one stands), scores outside
0-10 are refused, a token opens only its own survey and only until it closes, wrong tokens look like closed ones,
the page is rate limited and the form needs its per-survey token."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from retention.extensions import db
from retention.surveys import tokens
from retention.surveys.models import NpsAnswer, Survey
from retention.tick import run as tick
from tests.surveys.conftest import T0


def _sent(world, ref="C1", locale="en"):
    """A survey sent by email; returns (survey id, its token)."""
    survey = world.survey(world.customer(ref, locale=locale))
    tick(T0)
    db.session.expire_all()
    survey = db.session.get(Survey, survey.id)
    token = tokens.token_of(survey)
    assert token is not None and survey.status == "sent"
    return survey.id, token


def _form_token(page: str) -> str:
    return re.search(r'name="form_token" value="([0-9a-f]+)"', page).group(1)


def _answers():
    db.session.expire_all()
    return db.session.scalars(select(NpsAnswer).order_by(NpsAnswer.id)).all()


def test_one_click_records_and_the_last_answer_before_closing_stands(client, clock, world):
    survey_id, token = _sent(world)
    clock.set(T0 + dt.timedelta(hours=1))
    page = client.get(f"/s/{token}?score=3")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'value="3" checked' in body and 'id="thanks"' in body
    [answer] = _answers()
    assert answer.score == 3 and answer.survey_id == survey_id and answer.followed_up_at is None
    # the customer changes their mind with the form and adds a comment: one answer, updated
    sent = client.post(f"/s/{token}", data={"score": "9", "comment": "Great service", "form_token": _form_token(body)})
    assert sent.status_code == 200
    [answer] = _answers()
    assert (answer.score, answer.comment) == (9, "Great service")
    assert db.session.get(Survey, survey_id).status == "answered"


def test_a_score_outside_0_to_10_is_refused_and_nothing_is_stored(client, clock, world):
    _, token = _sent(world)
    clock.set(T0 + dt.timedelta(hours=1))
    for bad in ("11", "-1", "3.5", "ten", ""):
        page = client.get(f"/s/{token}", query_string={"score": bad})
        assert page.status_code == 422, bad
        assert "Choose a number from 0 to 10." in page.get_data(as_text=True)
    form = _form_token(client.get(f"/s/{token}").get_data(as_text=True))
    refused = client.post(f"/s/{token}", data={"score": "42", "comment": "x", "form_token": form})
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.get_data(as_text=True)
    assert 'x</textarea>' in refused.get_data(as_text=True)  # what was typed is kept
    assert _answers() == []


def test_a_token_answers_only_its_own_survey_and_a_wrong_one_looks_closed(client, clock, world):
    first_id, first = _sent(world, "C1")
    second_survey = world.survey(world.customer("C2"))
    tick(T0)
    second = tokens.token_of(db.session.get(Survey, second_survey.id))
    clock.set(T0 + dt.timedelta(hours=1))
    assert client.get(f"/s/{first}?score=10").status_code == 200
    assert [a.survey_id for a in _answers()] == [first_id]
    # the first survey's form token does not work on the second survey
    form = _form_token(client.get(f"/s/{first}").get_data(as_text=True))
    refused = client.post(f"/s/{second}", data={"score": "2", "form_token": form})
    assert refused.status_code == 400
    assert [a.survey_id for a in _answers()] == [first_id]
    # a made-up or altered token: the same answer as a closed survey
    wrong = client.get(f"/s/{first[:-1]}{'A' if first[-1] != 'A' else 'B'}?score=1")
    clock.set(T0 + dt.timedelta(days=15))
    closed = client.get(f"/s/{first}?score=1")
    assert wrong.status_code == closed.status_code == 404
    def same(response):  # each page's script nonce is its own
        return re.sub(r'nonce="[^"]+"', "", response.get_data(as_text=True))

    assert same(wrong) == same(closed)
    assert [a.score for a in _answers()] == [10]


def test_no_answer_after_the_survey_closes(client, clock, world):
    survey_id, token = _sent(world)
    clock.set(T0 + dt.timedelta(days=2))
    form = _form_token(client.get(f"/s/{token}?score=8").get_data(as_text=True))
    clock.set(T0 + dt.timedelta(days=14, seconds=1))
    late = client.post(f"/s/{token}", data={"score": "0", "form_token": form})
    assert late.status_code == 404 and "This survey is closed" in late.get_data(as_text=True)
    assert [a.score for a in _answers()] == [8]
    tick(T0 + dt.timedelta(days=14, minutes=1))
    db.session.expire_all()
    assert db.session.get(Survey, survey_id).status == "closed"


def test_the_page_speaks_the_customers_language_right_to_left(client, clock, world):
    _, token = _sent(world, locale="fa")
    clock.set(T0 + dt.timedelta(hours=1))
    page = client.get(f"/s/{token}").get_data(as_text=True)
    assert 'dir="rtl"' in page and 'lang="fa"' in page
    assert "چقدر احتمال دارد" in page and 'name="viewport"' in page


def test_the_page_is_rate_limited_per_link(app, client, clock, world):
    app.config["SURVEY_MAX_PER_LINK"] = 3
    _, token = _sent(world)
    clock.set(T0 + dt.timedelta(hours=1))
    codes = [client.get(f"/s/{token}?score=5").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert db.session.scalar(select(func.count()).select_from(NpsAnswer)) == 1


def test_nps_events_still_record_answers_collected_elsewhere(client, signer, queue, world):
    from tests.factories import customer, event, sale_completed

    signer.post(client, sale_completed(cust=customer("C9")))
    signer.post(client, event("nps.response", {"customer_id": "C9", "score": 6, "comment": "Slow"}))
    queue.drain()
    [answer] = _answers()
    assert (answer.score, answer.source, answer.survey_id) == (6, "event", None)
