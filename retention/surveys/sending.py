"""Sending surveys the journey handed out: the rules first, then an email or a letter carrying the survey's link.

Rules, checked when the tick sends (right after the hand-out, with `now`):
- cooldown: no survey went to the customer in the last SURVEY_COOLDOWN_DAYS -> else skipped ("cooldown");
- an open complaint: the journey's gate holds the step back before the survey exists; one opened in between keeps
  the survey waiting here (status to_send, reason "waiting_complaint") until the case closes;
- the journey exited (a refund or churn) while the survey waited for a complaint: skipped ("journey_exited");
- the channel: the step's choice (auto: email when mail.can_email allows it, else a letter); an opted-out channel
  (mail's opt-out table: email, letter) or a missing address skips it with the reason.
An email goes through mail.queue_email (ref "survey:<id>": queued once, sent after the commit, retried while the
server refuses or is down, never sent twice); a letter is queued for the next print batch with the survey's link
as its QR code (postal's LETTER_LINKS). The link works SURVEY_OPEN_DAYS from sending (letters: plus POSTAL_DAYS
for printing and the post).
"""
from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import select, true
from sqlalchemy.orm import Session

from retention.complaints.service import customers_with_open_complaints
from retention.customers.models import Customer
from retention.journeys.models import EXITED, Enrollment, Touchpoint
from retention.mail import service as mail
from retention.mail.models import CANCELLED as EMAIL_CANCELLED, FAILED as EMAIL_FAILED, OutboundEmail
from retention.mail.optouts import opted_out
from retention.postal.models import QUEUED as LETTER_QUEUED, Letter
from retention.surveys import tokens
from retention.surveys.models import OPEN_STATUSES, SENT, SKIPPED, CLOSED, TO_SEND, Survey

POSTAL_DAYS = 14
BATCH = 200
LETTER_TEMPLATE = "nps_survey"
LANGUAGES = ("en", "ar", "fa")


def language_of(customer: Customer) -> str:
    return mail.email_language(customer.locale)


def survey_link(token: str, score: int | None = None) -> str:
    return mail.public_url(f"/s/{token}" + (f"?score={score}" if score is not None else ""))


def _in_cooldown(session: Session, survey: Survey, now: dt.datetime) -> bool:
    since = now - dt.timedelta(days=current_app.config["SURVEY_COOLDOWN_DAYS"])
    return session.scalar(select(Survey.id).where(Survey.customer_id == survey.customer_id, Survey.id != survey.id,
                                                  Survey.sent_at.is_not(None), Survey.sent_at > since).limit(1)) is not None


def _has_address(customer: Customer) -> bool:
    return bool(customer.address_lines) and bool(customer.city or customer.postal_code) and \
        customer.address_flagged_at is None


def choose_channel(session: Session, survey: Survey, customer: Customer) -> tuple[str | None, str | None]:
    """(channel, None) to send by, or (None, reason) why it cannot go."""
    wanted = survey.wanted_channel or "auto"
    email_reason = mail.can_email(session, customer) if wanted in ("auto", "email") else None
    if wanted == "email":
        return ("email", None) if email_reason is None else (None, f"email_{email_reason}")
    if wanted == "auto" and email_reason is None:
        return "email", None
    if opted_out(session, customer.id, "letter"):
        return None, "letter_opted_out" if wanted == "letter" else "all_opted_out"
    if not _has_address(customer):
        return None, "no_address" if wanted == "letter" else "no_email_no_address"
    return "letter", None


def render_survey_email(customer: Customer, token: str, company: str) -> tuple[str, str, str]:
    """(subject, html, text) of the survey email in the customer's language, one link per score 0..10."""
    language = language_of(customer)
    links = [(score, survey_link(token, score)) for score in range(11)]
    html, text = mail.render_email("survey", language, name=customer.name or "", links=links,
                                   page=survey_link(token))
    with force_locale(language):
        subject = gettext("How likely are you to recommend %(company)s? One click to answer", company=company)
    return subject, html, text


def _journey_ended(session: Session, survey: Survey) -> bool:
    """The survey's journey was exited (a refund or churn) while the survey waited for a complaint to close."""
    if survey.touchpoint_id is None:
        return False
    status = session.scalar(select(Enrollment.status).join(Touchpoint, Touchpoint.enrollment_id == Enrollment.id)
                            .where(Touchpoint.id == survey.touchpoint_id))
    return status == EXITED


def send(session: Session, survey: Survey, now: dt.datetime) -> str:
    """Apply the rules to one survey and send it; returns its status afterwards. The caller commits."""
    customer = survey.customer
    if survey.reason == "waiting_complaint" and _journey_ended(session, survey):
        return _skip(survey, "journey_exited", now)  # the refund or churn that ended the journey stops it too
    if _in_cooldown(session, survey, now):
        return _skip(survey, "cooldown", now)
    if customers_with_open_complaints(session, [customer.id]):
        survey.reason = "waiting_complaint"
        return TO_SEND
    channel, reason = choose_channel(session, survey, customer)
    if channel is None:
        return _skip(survey, reason, now)
    token = tokens.token_of(survey) or tokens.issue(survey)
    if channel == "email":
        subject, html, text = render_survey_email(customer, token, current_app.config["COMPANY_NAME"])
        try:
            row = mail.queue_email(session, customer, kind="survey", subject=subject, text=text, html=html, now=now,
                                   ref=f"survey:{survey.id}", locale=language_of(customer))
        except mail.MailError as exc:  # opted out between the check and now
            return _skip(survey, f"email_{exc.reason or 'refused'}", now)
        survey.email_id = row.id
        survey.closes_at = now + dt.timedelta(days=current_app.config["SURVEY_OPEN_DAYS"])
    else:
        _queue_letter(session, survey, customer, now)
    survey.channel, survey.status, survey.sent_at, survey.reason = channel, SENT, now, None
    return SENT


def _queue_letter(session: Session, survey: Survey, customer: Customer, now: dt.datetime) -> None:
    letter = Letter(customer_id=customer.id, sale_id=survey.sale_id,
                    template_key=survey.letter_template or LETTER_TEMPLATE, language=language_of(customer),
                    status=LETTER_QUEUED, created_at=now)
    session.add(letter)
    session.flush()
    survey.letter_id = letter.id
    survey.closes_at = now + dt.timedelta(days=current_app.config["SURVEY_OPEN_DAYS"] + POSTAL_DAYS)


def reconcile_emails(session: Session, now: dt.datetime) -> int:
    """Surveys whose email never went (failed after every retry, or cancelled by an opt-out) and were not
    answered: a step that allows it sends a letter instead, else the survey is skipped with the reason.
    Returns how many changed; commits."""
    rows = session.execute(select(Survey, OutboundEmail.status).join(OutboundEmail, Survey.email_id == OutboundEmail.id)
                           .where(Survey.status == SENT, Survey.channel == "email",
                                  OutboundEmail.status.in_((EMAIL_FAILED, EMAIL_CANCELLED)))
                           .limit(BATCH)).all()
    for survey, status in rows:
        customer = survey.customer
        if survey.wanted_channel == "auto" and not opted_out(session, customer.id, "letter") and _has_address(customer):
            _queue_letter(session, survey, customer, now)
            survey.channel, survey.sent_at = "letter", now
        else:
            _skip(survey, "email_failed" if status == EMAIL_FAILED else "email_opted_out", now)
    session.commit()
    return len(rows)


def _skip(survey: Survey, reason: str, now: dt.datetime) -> str:
    survey.status, survey.reason, survey.closed_at = SKIPPED, reason[:40], now
    return SKIPPED


def send_due(session: Session, now: dt.datetime, limit: int = 5000) -> dict:
    """Send the surveys waiting to go, a batch per transaction (claimed FOR UPDATE SKIP LOCKED on PostgreSQL;
    the status change decides on SQLite). Returns counts by outcome."""
    counts = {"sent": 0, "skipped": 0, "waiting": 0}
    seen: set[int] = set()
    while sum(counts.values()) < limit:
        query = (select(Survey).where(Survey.status == TO_SEND, Survey.id.not_in(seen) if seen else true())
                 .order_by(Survey.id).limit(BATCH))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        batch = session.scalars(query).all()
        if not batch:
            session.commit()
            break
        for survey in batch:
            seen.add(survey.id)
            outcome = send(session, survey, now)
            counts["sent" if outcome == SENT else "skipped" if outcome == SKIPPED else "waiting"] += 1
        session.commit()
    return counts


def letter_links(session: Session, letters: list[Letter]) -> dict[int, dict]:
    """postal's LETTER_LINKS: the survey link each letter prints (its own survey, else the customer's latest
    open one); two queries for the whole chunk of letters."""
    ids = [letter.id for letter in letters if letter.id is not None]
    if not ids:
        return {}
    own = {s.letter_id: s for s in session.scalars(select(Survey).where(Survey.letter_id.in_(ids)))}
    customers = {letter.customer_id for letter in letters if letter.id not in own}
    latest: dict[int, Survey] = {}
    if customers:
        for survey in session.scalars(select(Survey).where(Survey.customer_id.in_(customers),
                                                           Survey.status.in_(OPEN_STATUSES))
                                      .order_by(Survey.sent_at.desc(), Survey.id.desc())):
            latest.setdefault(survey.customer_id, survey)
    found: dict[int, dict] = {}
    for letter in letters:
        survey = own.get(letter.id) or latest.get(letter.customer_id)
        if survey is None or survey.status in (SKIPPED, CLOSED):
            continue
        token = tokens.token_of(survey)
        if token is None:  # the secret changed since: a new link for this letter (the old one no longer prints)
            token = tokens.issue(survey)
            session.flush()
        found[letter.id] = {"survey_url": survey_link(token)}
    return found
