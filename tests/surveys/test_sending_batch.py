"""Sending surveys a batch at a time: the rules give each survey of a mixed batch its own outcome, every customer
gets one email in their language whose links open their survey, and the tick sends a bounded number, leaving the
rest to a worker job that never sends anything twice."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from retention.complaints import service as complaints
from retention.extensions import db
from retention.mail.models import OutboundEmail
from retention.mail.optouts import opt_out
from retention.mail.service import email_for_token
from retention.postal.models import Letter
from retention.surveys import tokens
from retention.surveys.models import Survey
from retention.surveys.sending import SurveyEmails, has_due, render_survey_email, send_due
from retention.tick import run as tick
from tests.surveys.conftest import T0

SURVEY_LINK = re.compile(r"/s/([A-Za-z0-9_-]+)\?score=(\d+)")
UNSUBSCRIBE = re.compile(r"/unsubscribe/([A-Za-z0-9_-]+)")


def _survey(survey_id: int) -> Survey:
    return db.session.get(Survey, survey_id)


def _emails() -> dict[str, OutboundEmail]:
    return {row.ref: row for row in db.session.scalars(select(OutboundEmail))}


def test_a_mixed_batch_gives_each_survey_its_outcome_and_each_customer_one_email_in_their_language(app, world):
    arabic = world.customer("AR1", locale="ar")
    persian = world.customer("FA1", locale="fa-IR")
    english = world.customer("EN1", locale="en")
    english.name = 'Amelia "Mia" <Jones> & Co'
    twice = world.customer("TW1", locale="en")  # two surveys in one batch: the first goes, the second waits 30 days
    recent = world.customer("RC1", locale="ar")  # surveyed ten days ago
    complaining = world.customer("CP1", locale="fa")
    no_email = world.customer("NE1", locale="ar")  # opted out of email: auto goes by letter
    no_email_step = world.customer("NE2", locale="fa")  # opted out of email, and the step sends only email
    nothing = world.customer("NO1", locale="en", email=None, address=False)
    no_address = world.customer("NA1", locale="fa", address=False)
    for cust in (no_email, no_email_step):
        opt_out(db.session, cust.id, "email", source="staff", now=T0, actor="test")
    complaints.open_case(db.session, complaining, channel="phone", category="delivery", summary="Late", now=T0,
                         source="event", actor="test")
    earlier = world.survey(recent, created=T0 - dt.timedelta(days=10))
    earlier.status, earlier.channel, earlier.sent_at = "sent", "email", T0 - dt.timedelta(days=10)
    db.session.commit()
    surveys = {
        "ar": world.survey(arabic), "fa": world.survey(persian), "en": world.survey(english),
        "twice_1": world.survey(twice), "twice_2": world.survey(twice), "recent": world.survey(recent),
        "complaint": world.survey(complaining), "letter_instead": world.survey(no_email),
        "email_step": world.survey(no_email_step, wanted="email"), "nothing": world.survey(nothing),
        "no_address": world.survey(no_address, wanted="letter"),
    }
    ids = {key: survey.id for key, survey in surveys.items()}

    first = send_due(db.session, T0)
    again = send_due(db.session, T0 + dt.timedelta(minutes=1))  # a second run (the next tick, a job run twice)
    db.session.expire_all()

    outcome = {key: (_survey(i).status, _survey(i).reason, _survey(i).channel) for key, i in ids.items()}
    assert outcome == {
        "ar": ("sent", None, "email"), "fa": ("sent", None, "email"), "en": ("sent", None, "email"),
        "twice_1": ("sent", None, "email"), "twice_2": ("skipped", "cooldown", None),
        "recent": ("skipped", "cooldown", None), "complaint": ("to_send", "waiting_complaint", None),
        "letter_instead": ("sent", None, "letter"), "email_step": ("skipped", "email_opted_out", None),
        "nothing": ("skipped", "no_email_no_address", None), "no_address": ("skipped", "no_address", None),
    }
    assert first == {"sent": 5, "skipped": 5, "waiting": 1}
    assert again == {"sent": 0, "skipped": 0, "waiting": 0}  # the waiting one is not read while its case is open
    emails = _emails()
    assert sorted(emails) == sorted(f"survey:{ids[key]}" for key in ("ar", "fa", "en", "twice_1"))
    assert {row.to_address for row in emails.values()} == {"ar1@example.net", "fa1@example.net", "en1@example.net",
                                                           "tw1@example.net"}
    for key, language, words in (("ar", "ar", "ما مدى احتمال"), ("fa", "fa", "چقدر احتمال دارد"),
                                 ("en", "en", "How likely are you")):
        survey = _survey(ids[key])
        row = emails[f"survey:{survey.id}"]
        assert row.locale == language and words in row.text and f'lang="{language}"' in row.html
        assert ('dir="rtl"' in row.html) is (language != "en")
        links = SURVEY_LINK.findall(row.html)
        assert sorted(int(score) for _, score in links) == list(range(11))
        [token] = {token for token, _ in links}
        assert tokens.token_hash(token) == survey.token_hash  # each link opens this customer's own survey
        assert survey.email_id == row.id and survey.closes_at == T0 + dt.timedelta(days=14)
        [unsubscribe] = set(UNSUBSCRIBE.findall(row.text))
        assert email_for_token(db.session, unsubscribe).id == row.id  # the footer's link unsubscribes this customer
        assert f"/unsubscribe/{unsubscribe}" in row.headers["List-Unsubscribe"]
    english_email = emails[f"survey:{ids['en']}"]
    assert "Amelia &#34;Mia&#34; &lt;Jones&gt; &amp; Co" in english_email.html  # the name as written, never as HTML
    assert 'Amelia "Mia" <Jones> & Co' in english_email.text
    letter = db.session.get(Letter, _survey(ids["letter_instead"]).letter_id)
    assert (letter.language, letter.template_key, letter.status) == ("ar", "nps_survey", "queued")
    assert db.session.scalar(select(func.count()).select_from(Letter)) == 1


def test_the_batch_email_is_the_one_email_rendered_alone_in_every_language(app, world):
    emails = SurveyEmails(app.config["COMPANY_NAME"])
    n = 0
    for locale in ("en", "ar-AE", "fa", "de"):
        for name in ("Layla Haddad", "مریم رضایی", "", "<b>Tom</b> & 'Jerry'"):
            n += 1
            cust = world.customer(f"R{n}", locale=locale)
            cust.name = name
            token = tokens.new_token()[1]
            assert emails.render(cust, token) == render_survey_email(cust, token, app.config["COMPANY_NAME"])


def test_the_tick_sends_a_bounded_number_and_a_job_sends_the_rest_once(app, world, queue, clock):
    app.config.update(SURVEY_SEND_PER_TICK=3, SURVEY_SEND_PER_JOB=4)
    clock.set(T0)  # the jobs run at the tick's time
    ids = [world.survey(world.customer(f"B{n}", locale=("en", "ar", "fa")[n % 3])).id for n in range(10)]
    summary = tick(T0)
    db.session.expire_all()
    assert summary["surveys_sent"] == 3 and summary["surveys_nudged"] == 1
    assert [_survey(i).status for i in ids] == ["sent"] * 3 + ["to_send"] * 7
    queue.drain()  # the job sends four, queues the next for the last three; the send jobs email them all
    db.session.expire_all()
    assert [_survey(i).status for i in ids] == ["sent"] * 10
    assert not has_due(db.session)
    from jobs.surveys import send_surveys

    assert send_surveys() == {"sent": 0, "skipped": 0, "waiting": 0}  # run again: nothing sent twice
    queue.drain()
    emails = _emails()
    assert sorted(emails) == sorted(f"survey:{i}" for i in ids)
    assert {row.status for row in emails.values()} == {"sent"}  # every email went out (outbox), one each


def test_surveys_held_by_an_open_complaint_neither_block_new_ones_nor_keep_a_job_running(app, world, queue, clock):
    app.config.update(SURVEY_SEND_PER_TICK=2)
    clock.set(T0)
    held = []
    for n in range(3):
        cust = world.customer(f"H{n}")
        complaints.open_case(db.session, cust, channel="phone", category="delivery", summary="Late", now=T0,
                             source="event", actor="test")
        db.session.commit()
        held.append(world.survey(cust).id)
    send_due(db.session, T0)  # they wait for their cases
    fresh = [world.survey(world.customer(f"F{n}")).id for n in range(2)]
    summary = tick(T0 + dt.timedelta(minutes=1))
    db.session.expire_all()
    assert [_survey(i).status for i in fresh] == ["sent", "sent"]  # not stuck behind the ones that wait
    assert {_survey(i).reason for i in held} == {"waiting_complaint"}
    assert summary["surveys_nudged"] == 0 and not has_due(db.session)  # no job chasing surveys that cannot move
    case = db.session.scalar(select(complaints.Complaint).where(complaints.Complaint.customer_id
                                                                 == _survey(held[0]).customer_id))
    complaints.move(db.session, case, "closed", now=T0 + dt.timedelta(hours=1), actor="test")
    db.session.commit()
    assert has_due(db.session)  # its case closed: that survey may go now
    tick(T0 + dt.timedelta(hours=1))
    db.session.expire_all()
    assert [_survey(i).status for i in held] == ["sent", "to_send", "to_send"]


def test_a_complaint_being_opened_while_the_batch_runs_keeps_the_survey_back(app, world):
    """A case being written for the customer at the same moment (not committed yet) holds the survey for a later
    round rather than letting it go out beside the case; once the case is committed it holds the survey while open."""
    import os

    import pytest
    from sqlalchemy.orm import Session

    from retention.customers.models import Customer

    if not (os.environ.get("DATABASE_URL") or "").startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL (CI runs it there)")
    unhappy = world.customer("LK1", locale="ar")
    calm = world.customer("LK2", locale="en")
    waiting, going = world.survey(unhappy), world.survey(calm)
    db.session.commit()
    ids = (waiting.id, going.id)

    other = Session(db.engine)  # a worker applying complaint.opened, or a person on the case page
    try:
        complaints.open_case(other, other.get(Customer, unhappy.id), channel="phone", category="delivery",
                             summary="Broken on arrival", now=T0, source="event", actor="test")
        other.flush()  # written, not committed: its foreign key holds a key-share lock on the customer

        first = send_due(db.session, T0)
        db.session.expire_all()
        assert (_survey(ids[0]).status, _survey(ids[0]).reason) == ("to_send", None)  # left for a later round
        assert _survey(ids[1]).status == "sent"
        assert first["sent"] == 1 and sorted(_emails()) == [f"survey:{ids[1]}"]

        other.commit()
    finally:
        other.close()
    send_due(db.session, T0 + dt.timedelta(minutes=1))
    db.session.expire_all()
    assert (_survey(ids[0]).status, _survey(ids[0]).reason) == ("to_send", "waiting_complaint")
    assert sorted(_emails()) == [f"survey:{ids[1]}"]  # no email to the customer whose case is open
