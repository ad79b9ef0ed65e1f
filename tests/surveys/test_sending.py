"""Sending surveys: an email in the customer's language with eleven one-click links, by real SMTP; a letter whose
QR code carries the survey's link; the rules (cooldown, opt-outs, open complaints); a refusing or absent server."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from retention.complaints import service as complaints
from retention.extensions import db
from retention.mail.models import OutboundEmail
from retention.mail.optouts import opt_out
from retention.postal.models import Letter
from retention.postal.service import company_from, letter_content
from retention.surveys.models import Survey
from retention.tick import run as tick
from tests.conftest import free_port
from tests.factories import tick_and_work
from tests.surveys.conftest import T0

LINK = re.compile(r"https?://[^\s\"<>]+/s/([A-Za-z0-9_-]+)\?score=(\d+)")


def _fresh(survey_id: int) -> Survey:
    db.session.expire_all()
    return db.session.get(Survey, survey_id)


def test_email_in_the_customers_language_with_eleven_score_links(app, client, clock, queue, world, smtp_server):
    app.config["SMTP_URL"] = smtp_server.url
    clock.set(T0 + dt.timedelta(hours=1))
    survey = world.survey(world.customer("C1", locale="fa"))
    tick(T0)
    queue.drain()  # the send job, queued after the tick's commit, sends it (the tick sends no email itself)
    survey = _fresh(survey.id)
    assert survey.status == "sent" and survey.channel == "email"
    assert survey.closes_at == T0 + dt.timedelta(days=14)
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["To"] == "c1@example.net" and message["List-Unsubscribe"]
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert 'dir="rtl"' in html and 'lang="fa"' in html
    assert "چقدر احتمال دارد" in text  # Persian text (the translation of the question)
    links = LINK.findall(html)
    assert sorted(int(score) for _, score in links) == list(range(11))
    tokens = {token for token, _ in links}
    assert len(tokens) == 1 and len(tokens.pop()) >= 22  # one random token, >= 128 bits
    assert "C1" not in "".join(url for url in re.findall(r"https?://\S+", text))  # no customer number in links
    # the token is not stored, only its hash
    token = links[0][0]
    assert survey.token_hash != token and token not in (survey.token_nonce or "")
    # following a link shows the answer page with that score chosen
    page = client.get(f"/s/{token}?score=7")
    assert page.status_code == 200 and 'id="score-7" name="score" value="7" checked' in page.get_data(as_text=True)


def test_a_refusing_or_absent_server_retries_and_nothing_is_sent_twice(app, world, smtp_server):
    survey = world.survey(world.customer("C1", locale="en"))
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nobody listens: the server is down
    tick_and_work(T0)  # the tick queues the email, the send job tries it
    survey = _fresh(survey.id)
    email = db.session.get(OutboundEmail, survey.email_id)
    assert survey.status == "sent" and email.status == "queued" and email.attempts == 1  # kept, to retry
    app.config["SMTP_URL"] = smtp_server.url
    smtp_server.refuse = "451 4.3.0 Try again later"
    tick_and_work(T0 + dt.timedelta(minutes=2))  # the retry is due: the tick queues the send job
    db.session.expire_all()
    assert email.status == "queued" and email.attempts == 2 and smtp_server.messages == []
    smtp_server.refuse = None
    tick_and_work(T0 + dt.timedelta(minutes=10))
    tick_and_work(T0 + dt.timedelta(minutes=20))
    tick_and_work(T0 + dt.timedelta(hours=5))
    db.session.expire_all()
    assert email.status == "sent" and len(smtp_server.messages) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboundEmail)) == 1
    assert _fresh(survey.id).status == "sent"


def test_cooldown_skips_a_second_survey_within_thirty_days(app, world):
    cust = world.customer("C1")
    first = world.survey(cust)
    tick(T0)
    second = world.survey(cust, created=T0 + dt.timedelta(days=10))
    tick(T0 + dt.timedelta(days=10))
    assert _fresh(first.id).status == "sent"
    assert _fresh(second.id).status == "skipped" and _fresh(second.id).reason == "cooldown"
    third = world.survey(cust, created=T0 + dt.timedelta(days=31))
    tick(T0 + dt.timedelta(days=31))
    assert _fresh(third.id).status == "sent"


def test_an_opted_out_channel_is_not_used(app, world):
    email_out = world.customer("C1")
    opt_out(db.session, email_out.id, "email", source="staff", now=T0, actor="test")
    both_out = world.customer("C2")
    opt_out(db.session, both_out.id, "email", source="staff", now=T0, actor="test")
    opt_out(db.session, both_out.id, "letter", source="staff", now=T0, actor="test")
    only_email = world.customer("C3")
    opt_out(db.session, only_email.id, "email", source="staff", now=T0, actor="test")
    db.session.commit()
    auto = world.survey(email_out)
    nothing = world.survey(both_out)
    email_step = world.survey(only_email, wanted="email")
    tick(T0)
    assert _fresh(auto.id).channel == "letter" and _fresh(auto.id).status == "sent"  # auto: a letter instead
    assert (_fresh(nothing.id).status, _fresh(nothing.id).reason) == ("skipped", "all_opted_out")
    assert (_fresh(email_step.id).status, _fresh(email_step.id).reason) == ("skipped", "email_opted_out")
    assert db.session.scalar(select(func.count()).select_from(OutboundEmail)) == 0
    assert db.session.scalar(select(func.count()).select_from(Letter)) == 1


def test_an_open_complaint_keeps_the_survey_waiting_until_it_closes(app, world):
    cust = world.customer("C1")
    case = complaints.open_case(db.session, cust, channel="phone", category="delivery", summary="Late", now=T0, source="event",
                                actor="test")
    db.session.commit()
    survey = world.survey(cust)
    tick(T0)
    assert (_fresh(survey.id).status, _fresh(survey.id).reason) == ("to_send", "waiting_complaint")
    complaints.move(db.session, db.session.get(type(case), case.id), "closed", now=T0 + dt.timedelta(days=1),
                    actor="test")
    db.session.commit()
    tick(T0 + dt.timedelta(days=1))
    assert _fresh(survey.id).status == "sent"


def test_a_survey_on_paper_prints_its_own_link_and_no_customer_number(app, world):
    cust = world.customer("C00108", locale="ar")
    survey = world.survey(cust, wanted="letter")
    tick(T0)
    survey = _fresh(survey.id)
    letter = db.session.get(Letter, survey.letter_id)
    assert survey.channel == "letter" and letter.template_key == "nps_survey" and letter.language == "ar"
    from retention.postal.models import LetterTemplate

    template = db.session.scalar(select(LetterTemplate).where(LetterTemplate.key == "nps_survey",
                                                              LetterTemplate.language == "ar",
                                                              LetterTemplate.is_current.is_(True)))
    content = letter_content(letter, template, company_from(app.config), T0.date())
    token = content.qr_url.rsplit("/s/", 1)[1]
    assert "C00108" not in content.qr_url and "feedback" not in content.qr_url
    from retention.surveys import tokens

    assert tokens.token_hash(token) == survey.token_hash
    # printed again (a reprint) it carries the same link
    assert letter_content(letter, template, company_from(app.config), T0.date()).qr_url == content.qr_url


def test_a_survey_steps_channel_is_checked_and_carried_to_its_survey(app, world):
    import pytest

    from retention.journeys.registry import Due
    from retention.journeys.service import JourneyError, validate_steps
    from retention.surveys.registration import surveys_to_send

    [spec] = validate_steps([{"key": "nps", "kind": "nps_survey", "day_offset": 30, "channel": "letter"}], db.session)
    assert spec["channel"] == "letter"
    with pytest.raises(JourneyError, match="channel"):
        validate_steps([{"key": "c", "kind": "call", "day_offset": 1, "channel": "email"}])
    with pytest.raises(JourneyError, match="channel"):
        validate_steps([{"key": "nps", "kind": "nps_survey", "day_offset": 1, "channel": "pigeon"}])
    with pytest.raises(JourneyError, match="template_key"):  # a survey on paper needs its letter in every language
        validate_steps([{"key": "nps", "kind": "nps_survey", "day_offset": 1, "template_key": "nope"}], db.session)

    class Step:
        channel, template_key = "letter", None

    cust = world.customer("C1")
    surveys_to_send(db.session, [Due(None, cust.id, 0, cust.sales[0].id, Step())], T0)
    db.session.commit()
    survey = db.session.scalar(select(Survey))
    assert (survey.wanted_channel, survey.sale_id, survey.status) == ("letter", cust.sales[0].id, "to_send")


def test_an_email_that_never_goes_out_becomes_a_letter_or_is_skipped(app, world, smtp_server):
    app.config.update(SMTP_URL=smtp_server.url, MAIL_MAX_ATTEMPTS=1)
    smtp_server.refuse = "550 5.1.1 No such mailbox"
    auto = world.survey(world.customer("C1"))
    email_only = world.survey(world.customer("C2"), wanted="email")
    tick_and_work(T0)  # queued, and refused for good by the send job
    tick_and_work(T0 + dt.timedelta(minutes=1))  # the next tick sees it failed
    auto, email_only = _fresh(auto.id), _fresh(email_only.id)
    assert (auto.status, auto.channel) == ("sent", "letter") and auto.letter_id is not None
    assert (email_only.status, email_only.reason) == ("skipped", "email_failed")
    assert smtp_server.messages == []


def _failed_for_good(app, smtp_server):
    """The server refuses every survey email and one refusal fails it (the tick's send job meets it)."""
    app.config.update(SMTP_URL=smtp_server.url, MAIL_MAX_ATTEMPTS=1)
    smtp_server.refuse = "550 5.1.1 No such mailbox"


def _letters_of(customer_id: int) -> list[Letter]:
    db.session.expire_all()
    return list(db.session.scalars(select(Letter).where(Letter.customer_id == customer_id)))


def test_an_email_that_failed_while_a_complaint_is_open_waits_for_the_case_then_goes_by_letter(app, world, smtp_server):
    """The letter that replaces a failed survey email obeys the rules of any survey send: no survey while a complaint
    is open for the customer; it goes once the case is closed."""
    _failed_for_good(app, smtp_server)
    cust = world.customer("C1")
    survey = world.survey(cust)
    tick_and_work(T0)  # sent by email; the server refuses it for good
    email = db.session.get(OutboundEmail, _fresh(survey.id).email_id)
    assert email.status == "failed"
    case = complaints.open_case(db.session, cust, channel="phone", category="delivery", summary="Late",
                                now=T0 + dt.timedelta(seconds=30), source="event", actor="test")
    db.session.commit()

    for minutes in (1, 2, 60):  # ticks while the case is open: the survey waits, no letter goes
        tick_and_work(T0 + dt.timedelta(minutes=minutes))
        waiting = _fresh(survey.id)
        assert (waiting.status, waiting.reason, waiting.sent_at) == ("to_send", "waiting_complaint", None)
        assert _letters_of(cust.id) == []
    complaints.move(db.session, db.session.get(type(case), case.id), "closed", now=T0 + dt.timedelta(days=1),
                    actor="test")
    db.session.commit()
    tick_and_work(T0 + dt.timedelta(days=1))
    sent = _fresh(survey.id)
    [letter] = _letters_of(cust.id)
    assert (sent.status, sent.channel, sent.letter_id, sent.sent_at) == ("sent", "letter", letter.id,
                                                                        T0 + dt.timedelta(days=1))
    assert sent.email_id == email.id  # the failed email stays its record; no second email for the survey
    assert db.session.scalar(select(func.count()).select_from(OutboundEmail)) == 1
    tick_and_work(T0 + dt.timedelta(days=2))
    assert len(_letters_of(cust.id)) == 1 and smtp_server.messages == []


def test_an_email_that_failed_for_a_customer_opted_out_of_letters_sends_no_letter(app, world, smtp_server):
    _failed_for_good(app, smtp_server)
    cust = world.customer("C1")
    survey = world.survey(cust)
    tick_and_work(T0)
    opt_out(db.session, cust.id, "letter", source="staff", now=T0 + dt.timedelta(seconds=30), actor="test")
    db.session.commit()
    tick_and_work(T0 + dt.timedelta(minutes=1))
    skipped = _fresh(survey.id)
    assert (skipped.status, skipped.reason, skipped.sent_at) == ("skipped", "all_opted_out", None)
    assert _letters_of(cust.id) == []


def test_a_customer_being_changed_holds_the_letter_of_a_failed_email_back_until_the_next_tick(app, world,
                                                                                             smtp_server):
    """reconcile_emails locks the customers as send_due does: a complaint being written for the customer at that
    moment (not committed yet) leaves the survey for a later round; once committed it holds the survey."""
    from sqlalchemy.orm import Session

    from retention.customers.models import Customer
    from retention.surveys.sending import reconcile_emails
    from tests.faults.faultkit import require_postgresql

    require_postgresql()
    _failed_for_good(app, smtp_server)
    busy, calm = world.customer("C1"), world.customer("C2")
    surveys = {c.id: world.survey(c) for c in (busy, calm)}
    tick_and_work(T0)
    other = Session(db.engine)  # a worker applying complaint.opened
    try:
        complaints.open_case(other, other.get(Customer, busy.id), channel="phone", category="delivery",
                             summary="Broken", now=T0 + dt.timedelta(minutes=1), source="event", actor="test")
        other.flush()  # written, not committed: its foreign key holds a key-share lock on the customer
        assert reconcile_emails(db.session, T0 + dt.timedelta(minutes=1)) == 1  # only the calm customer's
        assert (_fresh(surveys[calm.id].id).status, _fresh(surveys[calm.id].id).channel) == ("sent", "letter")
        held = _fresh(surveys[busy.id].id)
        assert (held.status, held.channel) == ("sent", "email") and _letters_of(busy.id) == []  # untouched
        other.commit()
    finally:
        other.close()
    assert reconcile_emails(db.session, T0 + dt.timedelta(minutes=2)) == 1
    held = _fresh(surveys[busy.id].id)
    assert (held.status, held.reason) == ("to_send", "waiting_complaint") and _letters_of(busy.id) == []


def test_a_survey_letter_cancelled_by_a_letter_opt_out_no_longer_counts_as_sent(app, world):
    from retention.surveys import reports
    from retention.surveys.sending import letter_links

    cust = world.customer("C1")
    survey = world.survey(cust, wanted="letter")
    tick(T0)
    assert (_fresh(survey.id).status, _fresh(survey.id).channel) == ("sent", "letter")
    assert [(r["channel"], r["sent"]) for r in reports.response_rates(db.session)] == [("letter", 1)]

    opt_out(db.session, cust.id, "letter", source="staff", now=T0 + dt.timedelta(days=1), actor="test")
    db.session.commit()
    gone = _fresh(survey.id)
    assert (gone.status, gone.reason, gone.sent_at, gone.closed_at) == ("skipped", "letter_opted_out", None,
                                                                       T0 + dt.timedelta(days=1))
    letter = db.session.get(Letter, gone.letter_id)
    assert letter.status == "cancelled" and letter_links(db.session, [letter]) == {}  # its link would not print
    assert reports.response_rates(db.session) == []  # not sent: out of the NPS response rates
    # nor in the cooldown: a survey a week later goes (by email: the customer may be emailed)
    later = world.survey(cust, created=T0 + dt.timedelta(days=7))
    tick(T0 + dt.timedelta(days=7))
    assert (_fresh(later.id).status, _fresh(later.id).channel) == ("sent", "email")


def test_a_survey_already_answered_or_posted_stays_as_it_was_when_the_customer_opts_out_of_letters(app, world):
    from retention.postal.models import MAILED
    from retention.surveys import service

    answered_customer, posted_customer = world.customer("C1"), world.customer("C2")
    answered, posted = world.survey(answered_customer, wanted="letter"), world.survey(posted_customer, wanted="letter")
    tick(T0)
    service.answer_survey(db.session, _fresh(answered.id), 9, None, T0 + dt.timedelta(hours=1), settle=None)
    db.session.get(Letter, _fresh(posted.id).letter_id).status = MAILED
    db.session.commit()
    for cust in (answered_customer, posted_customer):
        opt_out(db.session, cust.id, "letter", source="staff", now=T0 + dt.timedelta(days=1), actor="test")
    db.session.commit()
    assert _fresh(answered.id).status == "answered" and _fresh(posted.id).status == "sent"
    assert _fresh(posted.id).sent_at == T0


def test_two_ticks_at_once_send_each_survey_once(app, world):
    from retention.surveys.sending import send_due
    from tests.factories import in_other_apps

    ids = [world.survey(world.customer(f"C{n}", locale="en")).id for n in range(30)]

    def work(other):
        try:
            return send_due(db.session, T0)
        except Exception as exc:  # SQLite: a writer that lost the race stops; the next tick carries on
            db.session.rollback()
            return {"error": type(exc).__name__}

    in_other_apps(2, work)
    send_due(db.session, T0)  # whatever a stopped writer left
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(OutboundEmail)) == 30
    assert {db.session.get(Survey, i).status for i in ids} == {"sent"}
    refs = db.session.scalars(select(OutboundEmail.ref)).all()
    assert sorted(refs) == sorted(f"survey:{i}" for i in ids)


def test_the_thank_you_letter_prints_the_customers_open_survey_link_or_no_code(app, world):
    from retention.postal.models import LetterTemplate
    from retention.surveys import tokens

    cust = world.customer("C00108", locale="en")
    letter = Letter(customer_id=cust.id, sale_id=cust.sales[0].id, template_key="thank_you", language="en",
                    status="queued", created_at=T0)
    db.session.add(letter)
    db.session.commit()
    template = db.session.scalar(select(LetterTemplate).where(LetterTemplate.key == "thank_you",
                                                              LetterTemplate.language == "en",
                                                              LetterTemplate.is_current.is_(True)))
    without = letter_content(letter, template, company_from(app.config), T0.date())
    assert without.qr_url is None  # no survey open: no code, and no sentence asking to scan one
    assert "scan the code" not in str(without.body)
    survey = world.survey(cust)
    tick(T0)
    content = letter_content(letter, template, company_from(app.config), T0.date())
    assert "scan the code below" in str(content.body)
    qr = content.qr_url
    assert qr.endswith("/s/" + tokens.token_of(_fresh(survey.id))) and "C00108" not in qr


def test_a_journey_version_keeps_its_survey_steps_channel(app, world):
    from retention.journeys.service import create_journey, form_steps

    journey = create_journey(db.session, key="paper", name="Paper", anchor="sale", now=T0, actor="test",
                             steps=[{"key": "nps", "kind": "nps_survey", "day_offset": 30, "channel": "letter"}])
    db.session.commit()
    assert form_steps(journey)[0]["channel"] == "letter"  # what an edit or a restore saves again


def test_a_survey_waiting_for_a_complaint_is_not_sent_after_the_customer_churned(app, client, signer, world):
    from retention.journeys.service import ensure_default_journey
    from tests.factories import customer, event, sale_completed

    ensure_default_journey(db.session, T0)
    db.session.commit()
    signer.post(client, sale_completed("S-9", cust=customer("C9"), occurred_at=T0))
    signer.post(client, event("complaint.opened", {"complaint_id": "H-9", "customer_id": "C9", "channel": "phone",
                                                   "category": "delivery", "summary": "Late"},
                              occurred_at=T0 + dt.timedelta(days=29)))
    tick(T0 + dt.timedelta(days=29))
    # the day-30 survey, handed out just before the complaint's event came in: it waits for the case to close
    from retention.journeys.models import Touchpoint

    step = db.session.scalar(select(Touchpoint).where(Touchpoint.kind == "nps_survey").order_by(Touchpoint.due_at))
    step.status, step.handed_at = "handed", T0 + dt.timedelta(days=30)
    survey = Survey(customer_id=step.customer_id, touchpoint_id=step.id, status="to_send", reason="waiting_complaint",
                    created_at=T0 + dt.timedelta(days=30))
    db.session.add(survey)
    db.session.commit()
    signer.post(client, event("customer.churned", {"customer_id": "C9"}, occurred_at=T0 + dt.timedelta(days=31)))
    tick(T0 + dt.timedelta(days=31))
    case = db.session.scalar(select(complaints.Complaint))
    complaints.move(db.session, case, "closed", now=T0 + dt.timedelta(days=32), actor="test")
    db.session.commit()
    tick(T0 + dt.timedelta(days=32))
    survey = _fresh(survey.id)
    assert (survey.status, survey.reason, survey.sent_at) == ("skipped", "journey_exited", None)
    assert db.session.scalar(select(func.count()).select_from(OutboundEmail).where(OutboundEmail.kind == "survey")) == 0
