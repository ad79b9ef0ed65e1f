"""Sending surveys the journey handed out: the rules first, then an email or a letter carrying the survey's link.

Rules, checked when the tick sends (right after the hand-out, with `now`):
- cooldown: no survey went to the customer in the last SURVEY_COOLDOWN_DAYS -> else skipped ("cooldown");
- an open complaint: the journey's gate holds the step back before the survey exists; one opened in between keeps
  the survey waiting here (status to_send, reason "waiting_complaint") until the case closes;
- the journey exited (a refund or churn) while the survey waited for a complaint: skipped ("journey_exited");
- the channel: the step's choice (auto: email when mail.can_email allows it, else a letter); an opted-out channel
  (mail's opt-out table: email, letter) or a missing address skips it with the reason;
- an email that never went (failed after every retry, or cancelled): reconcile_emails puts the survey back to send
  through these same rules (send_batch, the customers locked as send_due locks them), with email out of the question
  for it: a letter when the step allows one, else skipped ("email_failed"); a complaint opened since holds it
  ("waiting_complaint") until the case closes;
- a survey letter cancelled before posting (the customer opted out of letters) no longer counts as sent: skipped
  ("letter_opted_out", not sent, out of the response rates and the cooldown; `cancel_letter_surveys`, run by
  postal.batches.on_letters_cancelled).
Surveys go a batch at a time (send_batch: what the rules read loaded at once, the emails queued together), at most
SURVEY_SEND_PER_TICK in the tick; more waiting go to the send job (SEND_JOB) queued after its commit.
An email goes through mail.queue_emails (ref "survey:<id>": queued once, sent after the commit, retried while the
server refuses or is down, never sent twice); a letter is queued for the next print batch with the survey's link
as its QR code (postal's LETTER_LINKS). The link works SURVEY_OPEN_DAYS from sending (letters: plus POSTAL_DAYS
for printing and the post).
"""
from __future__ import annotations

import datetime as dt
import logging
from types import SimpleNamespace

from flask import current_app
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from retention import bulk
from retention.complaints.models import OPEN_STATUSES as OPEN_CASE, Complaint
from retention.complaints.service import customers_with_open_complaints
from retention.customers.locking import lock_customers
from retention.customers.models import Customer
from retention.journeys.models import EXITED, Enrollment, Touchpoint
from retention.mail import service as mail
from retention.mail.models import CANCELLED as EMAIL_CANCELLED, FAILED as EMAIL_FAILED, OutboundEmail
from retention.mail.optouts import opted_out_ids
from retention.postal.models import QUEUED as LETTER_QUEUED, Letter
from retention.queries import id_in
from retention.surveys import tokens
from retention.surveys.models import OPEN_STATUSES, SENT, SKIPPED, CLOSED, TO_SEND, Survey

log = logging.getLogger(__name__)

POSTAL_DAYS = 14
BATCH = 200
WAITING = "waiting_complaint"
# More surveys waiting than the tick sends (SURVEY_SEND_PER_TICK) go to this job, queued after the tick's commit;
# each run sends SURVEY_SEND_PER_JOB and queues the next while any are left (retention/tick.py: send_surveys).
NUDGE_KEY = "surveys"
SEND_JOB = "jobs.surveys.send_surveys"
LETTER_TEMPLATE = "nps_survey"
LANGUAGES = ("en", "ar", "fa")


def language_of(customer: Customer) -> str:
    return mail.email_language(customer.locale)


def survey_link(token: str, score: int | None = None) -> str:
    return mail.public_url(f"/s/{token}" + (f"?score={score}" if score is not None else ""))


def _has_address(customer: Customer) -> bool:
    return bool(customer.address_lines) and bool(customer.city or customer.postal_code) and \
        customer.address_flagged_at is None


def _channel(survey: Survey, customer: Customer, email_refusal, letter_opted_out) -> tuple[str | None, str | None]:
    """The channel rule; `email_refusal()` is mail.can_email's answer, `letter_opted_out()` the letter opt-out
    (functions, asked only when the rule needs them)."""
    wanted = survey.wanted_channel or "auto"
    email_reason = email_refusal() if wanted in ("auto", "email") else None
    if wanted == "email":
        return ("email", None) if email_reason is None else (None, f"email_{email_reason}")
    if wanted == "auto" and email_reason is None:
        return "email", None
    if letter_opted_out():
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


_TOKEN_MARK, _NAME_MARK = "\ue000token\ue000", "\ue000name\ue000"


class SurveyEmails:
    """Survey emails for many customers: each language's email rendered once, with marks where the customer's name
    and the link's token go, then filled in per customer (a full Jinja render with its translations costs ~1 ms).

    The result is render_survey_email's, byte for byte: each language's made email is checked once against a full
    render for a customer whose name holds HTML's special characters; a template that treats the name or the link
    otherwise than by escaping (a filter on the name, say) fails that check and is then rendered in full for each.
    """

    def __init__(self, company: str):
        self.company = company
        self._made: dict[tuple[str, bool], tuple[str, str, str] | None] = {}

    def render(self, customer: Customer, token: str) -> tuple[str, str, str]:
        """(subject, html, text) of the survey email to `customer` with the link of `token`."""
        language, name = language_of(customer), customer.name or ""
        key = (language, bool(name))
        if key not in self._made:
            self._made[key] = self._make(language, bool(name))
        made = self._made[key]
        if made is None:
            return render_survey_email(customer, token, self.company)
        subject, html, text = made
        return subject, _fill(html, token, str(escape(name))), _fill(text, token, name)

    def _make(self, language: str, named: bool) -> tuple[str, str, str] | None:
        made = render_survey_email(SimpleNamespace(name=_NAME_MARK if named else "", locale=language), _TOKEN_MARK,
                                   self.company)
        sample_name, sample_token = ("Ana <O'Neil> & \"Co\"" if named else ""), "Sample-token_0123456789abcdefABCDEF"
        subject, html, text = render_survey_email(SimpleNamespace(name=sample_name, locale=language), sample_token,
                                                  self.company)
        filled = (made[0], _fill(made[1], sample_token, str(escape(sample_name))),
                  _fill(made[2], sample_token, sample_name))
        if filled != (subject, html, text):
            log.warning("survey email (%s) rendered in full for each customer: the template does not take the name "
                        "and link as plain text", language)
            return None
        return made


def _fill(made: str, token: str, name: str) -> str:
    # The token first: the name is put in last, so nothing in a name is ever read as a mark.
    return made.replace(_TOKEN_MARK, token).replace(_NAME_MARK, name)


def _exited_touchpoints(session: Session, surveys: list[Survey]) -> set[int]:
    """The touchpoints of these surveys waiting for a complaint whose journey was exited (one query)."""
    ids = [s.touchpoint_id for s in surveys if s.reason == WAITING and s.touchpoint_id is not None]
    if not ids:
        return set()
    return set(session.scalars(select(Touchpoint.id).join(Enrollment, Touchpoint.enrollment_id == Enrollment.id)
                               .where(id_in(session, Touchpoint.id, ids), Enrollment.status == EXITED)))


def send(session: Session, survey: Survey, now: dt.datetime) -> str:
    """Apply the rules to one survey and send it; returns its status afterwards. The caller commits."""
    return send_batch(session, [survey], now)[0]


def send_batch(session: Session, surveys: list[Survey], now: dt.datetime,
               emails: SurveyEmails | None = None) -> list[str]:
    """Apply the rules to these surveys and send them; returns each one's status afterwards. The caller commits.

    What the rules read is loaded for the whole batch at once (customers, the cooldown, open complaints, opt-outs,
    exited journeys), the emails are queued together (mail.queue_emails) and the letters inserted together; the
    outcome is what sending them one by one in this order gives (a survey sent earlier in the batch puts a later
    one of the same customer in its cooldown). The surveys' own changes are made last, the same columns for each,
    so the flush writes them with one UPDATE.
    """
    if not surveys:
        return []
    cfg = current_app.config
    emails = emails or SurveyEmails(cfg["COMPANY_NAME"])
    customers = _customers(session, surveys)
    ids = list(customers)
    exited = _exited_touchpoints(session, surveys)
    since = now - dt.timedelta(days=cfg["SURVEY_COOLDOWN_DAYS"])
    recent: dict[int, set[int]] = {}  # customer -> their surveys sent within the cooldown
    for customer_id, survey_id in session.execute(select(Survey.customer_id, Survey.id).where(
            id_in(session, Survey.customer_id, ids), Survey.sent_at.is_not(None), Survey.sent_at > since)):
        recent.setdefault(customer_id, set()).add(survey_id)
    complaining = customers_with_open_complaints(session, ids)
    email_refusals = mail.email_refusals(session, customers.values())
    emails_gone = _emails_gone(session, surveys)
    letters_refused = opted_out_ids(session, ids, "letter")

    changes: list[dict] = []  # per survey, what it becomes
    to_email: list[tuple[int, Customer, str]] = []  # (place in the batch, customer, link token)
    to_post: list[tuple[int, Customer]] = []
    for place, survey in enumerate(surveys):
        customer = customers[survey.customer_id]
        change: dict = {}
        changes.append(change)
        if survey.reason == WAITING and survey.touchpoint_id in exited:
            change.update(_skipped("journey_exited", now))  # the refund or churn that ended the journey stops it too
            continue
        if recent.get(customer.id, set()) - {survey.id}:
            change.update(_skipped("cooldown", now))
            continue
        if customer.id in complaining:
            change["reason"] = WAITING
            continue
        channel, reason = _channel(survey, customer,
                                   lambda: emails_gone.get(survey.id) or email_refusals[customer.id],
                                   lambda: customer.id in letters_refused)
        if channel is None:
            change.update(_skipped(reason, now))
            continue
        recent.setdefault(customer.id, set()).add(survey.id)  # sent now: a later survey of theirs is in cooldown
        token = tokens.token_of(survey)
        if token is None:
            nonce, token = tokens.new_token()
            change.update(token_nonce=nonce, token_hash=tokens.token_hash(token))
        change.update(channel=channel, status=SENT, sent_at=now, reason=None)
        if channel == "email":
            change["closes_at"] = now + dt.timedelta(days=cfg["SURVEY_OPEN_DAYS"])
            to_email.append((place, customer, token))
        else:
            change["closes_at"] = now + dt.timedelta(days=cfg["SURVEY_OPEN_DAYS"] + POSTAL_DAYS)
            to_post.append((place, customer))

    if to_email:
        queued = []
        for place, customer, token in to_email:
            subject, html, text = emails.render(customer, token)
            queued.append(mail.CustomerEmail(customer=customer, kind="survey", subject=subject, text=text, html=html,
                                             ref=f"survey:{surveys[place].id}", locale=language_of(customer)))
        for (place, _customer, _token), row in zip(to_email, mail.queue_emails(session, queued, now=now)):
            if isinstance(row, mail.MailError):  # opted out between the check and now (the token stays, unused)
                kept = {k: v for k, v in changes[place].items() if k in ("token_nonce", "token_hash")}
                changes[place] = {**_skipped(f"email_{row.reason or 'refused'}", now), **kept}
            else:
                changes[place]["email_id"] = row.id
    if to_post:
        letters = _letters(session, [(surveys[place], customer) for place, customer in to_post], now)
        for (place, _customer), letter in zip(to_post, letters):
            changes[place]["letter_id"] = letter.id

    for survey, change in zip(surveys, changes):
        for column, value in change.items():
            setattr(survey, column, value)
        for column in _WRITTEN:  # the same columns for each survey: one UPDATE (executemany) for the batch
            flag_modified(survey, column)
    return [survey.status for survey in surveys]


_WRITTEN = ("status", "reason", "channel", "sent_at", "closes_at", "closed_at", "email_id", "letter_id", "token_nonce",
            "token_hash")


def _emails_gone(session: Session, surveys: list[Survey]) -> dict[int, str]:
    """Surveys whose own email never went, and why email is out for them: "failed" (every retry used), or the reason
    it was cancelled ("opted_out", "no_email"). Its ref is taken: the survey is not emailed again. One query, and
    none when no survey of the batch has an email (send_due's own batches)."""
    by_email = {s.email_id: s.id for s in surveys if s.email_id is not None}
    if not by_email:
        return {}
    gone = {}
    for email_id, status, error in session.execute(
            select(OutboundEmail.id, OutboundEmail.status, OutboundEmail.last_error).where(
                OutboundEmail.id.in_(list(by_email)), OutboundEmail.status.in_((EMAIL_FAILED, EMAIL_CANCELLED)))):
        gone[by_email[email_id]] = "failed" if status == EMAIL_FAILED else \
            error if error in ("opted_out", "no_email") else "opted_out"
    return gone


def _customers(session: Session, surveys: list[Survey]) -> dict[int, Customer]:
    """The surveys' customers, by one query."""
    ids = {s.customer_id for s in surveys}
    return {c.id: c for c in session.scalars(select(Customer).where(id_in(session, Customer.id, ids)))}


def _letters(session: Session, pairs: list[tuple[Survey, Customer]], now: dt.datetime) -> list[Letter]:
    """A survey letter per survey, queued for the next print batch (inserted together)."""
    letters = [Letter(customer_id=customer.id, sale_id=survey.sale_id,
                      template_key=survey.letter_template or LETTER_TEMPLATE, language=language_of(customer),
                      status=LETTER_QUEUED, created_at=now) for survey, customer in pairs]
    bulk.insert_new(session, letters)
    return letters


def reconcile_emails(session: Session, now: dt.datetime) -> int:
    """Surveys whose email never went (failed after every retry, or cancelled by an opt-out) and were not answered
    are sent again by the rules every survey send obeys (send_batch), email out of the question for them: a letter
    when the step allows one and the customer has not opted out of letters, else skipped with the reason; while a
    complaint is open for the customer (its verification pending included) the survey waits ("waiting_complaint") and
    send_due sends it once the case closes. As in send_due, the surveys are claimed FOR UPDATE SKIP LOCKED and their
    customers locked (customers.locking) on PostgreSQL, so a complaint being opened at that moment holds the letter
    back or comes after it; a customer someone else holds is left for the next tick. Returns how many were looked at;
    commits."""
    query = (select(Survey).join(OutboundEmail, Survey.email_id == OutboundEmail.id)
             .where(Survey.status == SENT, Survey.channel == "email",
                    OutboundEmail.status.in_((EMAIL_FAILED, EMAIL_CANCELLED)))
             .order_by(Survey.id).limit(BATCH))
    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql:
        query = query.with_for_update(skip_locked=True, of=Survey)
    batch = session.scalars(query).all()
    if postgresql:
        batch = _customers_locked(session, batch)
    for survey in batch:  # not sent after all: to send again, as if handed out now
        survey.status, survey.channel, survey.reason, survey.sent_at, survey.closes_at = TO_SEND, None, None, None, None
    send_batch(session, batch, now)
    session.commit()
    return len(batch)


def cancel_letter_surveys(session: Session, letter_ids: list[int], now: dt.datetime) -> int:
    """Letters cancelled before posting (the customer opted out of letters: postal.batches.on_letters_cancelled): a
    survey one of them carried was not sent after all. Skipped ("letter_opted_out"), its sent time cleared (the NPS
    response rates and the cooldown count only surveys that went); answered surveys stay as they are. Returns how
    many surveys changed."""
    surveys = session.scalars(select(Survey).where(id_in(session, Survey.letter_id, letter_ids),
                                                   Survey.status == SENT, Survey.channel == "letter")).all()
    for survey in surveys:
        _skip(survey, "letter_opted_out", now)
        survey.sent_at = survey.closes_at = None
    return len(surveys)


def _skip(survey: Survey, reason: str, now: dt.datetime) -> str:
    for column, value in _skipped(reason, now).items():
        setattr(survey, column, value)
    return SKIPPED


def _skipped(reason: str, now: dt.datetime) -> dict:
    return {"status": SKIPPED, "reason": reason[:40], "closed_at": now}


def _to_send() -> list:
    """Surveys to send: handed out and not looked at yet."""
    return [Survey.status == TO_SEND, or_(Survey.reason.is_(None), Survey.reason != WAITING)]


def _released() -> list:
    """Surveys waiting for a complaint that may move now: the customer's cases are all closed, or the journey was
    exited (those whose case is still open would only wait again: they are not read until then)."""
    open_case = exists().where(Complaint.customer_id == Survey.customer_id, Complaint.status.in_(OPEN_CASE))
    exited = exists().where(Touchpoint.id == Survey.touchpoint_id, Enrollment.id == Touchpoint.enrollment_id,
                            Enrollment.status == EXITED)
    return [Survey.status == TO_SEND, Survey.reason == WAITING, or_(~open_case, exited)]


def send_due(session: Session, now: dt.datetime, limit: int = 5000) -> dict:
    """Send at most `limit` surveys waiting to go, a batch per transaction (claimed FOR UPDATE SKIP LOCKED on
    PostgreSQL; the status change decides on SQLite): first those not looked at yet, then those a complaint held
    that may move now. Returns counts by outcome; `has_due` says whether any are left."""
    counts = {"sent": 0, "skipped": 0, "waiting": 0}
    emails = SurveyEmails(current_app.config["COMPANY_NAME"])
    postgresql = session.get_bind().dialect.name == "postgresql"
    for where in (_to_send(), _released()):
        after = 0  # each survey is looked at once per call (the ids of a batch are increasing)
        while sum(counts.values()) < limit:
            query = (select(Survey).where(*where, Survey.id > after).order_by(Survey.id)
                     .limit(min(BATCH, limit - sum(counts.values()))))
            if postgresql:
                query = query.with_for_update(skip_locked=True)
            batch = session.scalars(query).all()
            if not batch:
                break
            after = batch[-1].id
            if postgresql:
                batch = _customers_locked(session, batch)
            for outcome in send_batch(session, batch, now, emails):
                counts["sent" if outcome == SENT else "skipped" if outcome == SKIPPED else "waiting"] += 1
            session.commit()
    session.commit()
    return counts


def _customers_locked(session: Session, batch: list[Survey]) -> list[Survey]:
    """The surveys of the batch whose customer this transaction could lock (customers.locking.lock_customers: a
    complaint being opened at the same moment either holds the survey back or comes after it); the others stay to
    send for a later round."""
    locked = lock_customers(session, {survey.customer_id for survey in batch})
    return [survey for survey in batch if survey.customer_id in locked]


def has_due(session: Session) -> bool:
    """Whether any survey is waiting to be sent (not looked at yet, or held by a complaint that closed since)."""
    return any(session.scalar(select(Survey.id).where(*where).limit(1)) is not None
               for where in (_to_send(), _released()))


def nudge(queue) -> bool:
    """Queue one send job unless one is waiting already; never fails the caller (the next tick sends some and
    queues it again)."""
    from retention.queue import nudge_once

    return nudge_once(queue, NUDGE_KEY, SEND_JOB, 120, "the tick")


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
