"""Rules about NPS answers: recording one (a survey's own link, or an `nps.response` event), which survey a link
opens, closing surveys, latest scores.

A survey's link works from sending until `closes_at` (SURVEY_OPEN_DAYS); one NpsAnswer per survey, updated by
each answer before it closes, so the last answer stands (`first_answered_at` keeps when it first came). A score
recorded by a one-click link (GET) is followed up once it has settled (SURVEY_SETTLE_MINUTES: a link scanner
opening every link of an email must not open cases); a score sent with the page's form is followed up at once.
This module never imports calls (calls read it): the follow-up lives in surveys/loop.py.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from retention.errors import N_, ServiceError
from retention.queries import id_in
from retention.surveys import tokens
from retention.surveys.models import ANSWERED, CLOSED, OPEN_STATUSES, NpsAnswer, Survey, nps_category

MAX_COMMENT = 2000
SCORES = range(0, 11)
# An answer another system sends is followed up (surveys/loop.py) when it is at most this old on arrival; older ones
# (an import, a replay of history) only feed the facts: a recovery call weeks later is no longer a recovery call.
EVENT_FOLLOW_UP_WITHIN = dt.timedelta(days=7)


class SurveyError(ServiceError):
    """An answer that cannot be taken (422): the field and a msgid; nothing is stored."""


def check_score(score) -> int:
    """A whole number from 0 to 10 (as int or its digits), else SurveyError("score")."""
    if isinstance(score, str) and score.strip().isascii() and score.strip().isdigit() and len(score.strip()) <= 2:
        score = int(score.strip())
    if isinstance(score, bool) or not isinstance(score, int) or score not in SCORES:
        raise SurveyError("score", N_("Choose a number from 0 to 10."))
    return score


def check_comment(comment) -> str | None:
    if comment is None:
        return None
    if not isinstance(comment, str):
        raise SurveyError("comment", N_("The comment must be text."))
    if any(ord(c) < 32 and c not in "\n\r\t" for c in comment) or "\x7f" in comment:
        raise SurveyError("comment", N_("The comment has characters that cannot be kept."))
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise SurveyError("comment", N_("The comment can be at most %(max)s characters long."), max=MAX_COMMENT)
    return comment or None


def record_answer(session: Session, customer, score: int, comment: str | None, answered_at: dt.datetime, *,
                  source: str, event_id: int | None = None, now: dt.datetime | None = None) -> NpsAnswer | None:
    """Store an NPS answer collected elsewhere once (per inbound event); an answer means the customer is not silent.

    It feeds the facts (latest score) and, given `now` and at most EVENT_FOLLOW_UP_WITHIN old, is followed up from
    `now` like a survey's answer (surveys/loop.py: a detractor's recovery case and call, a passive's call; never
    doubling a follow-up of the same period)."""
    if event_id is not None and session.scalar(select(NpsAnswer.id).where(NpsAnswer.event_id == event_id)):
        return None
    due = now if now is not None and answered_at >= now - EVENT_FOLLOW_UP_WITHIN else None
    answer = NpsAnswer(customer=customer, score=score, comment=comment, answered_at=answered_at, source=source,
                       event_id=event_id, first_answered_at=answered_at, follow_up_due_at=due)
    session.add(answer)
    customer.silent_at = None
    return answer


def open_survey(session: Session, token: str, now: dt.datetime, *, for_update: bool = False) -> Survey | None:
    """The survey whose link carries `token`, while it is open; None for any other token (closed, skipped,
    unknown: the caller answers all of them the same way)."""
    if not tokens.plausible(token):
        return None
    query = select(Survey).where(Survey.token_hash == tokens.token_hash(token))
    if for_update:
        query = query.with_for_update()
    survey = session.scalar(query)
    if survey is None or survey.status not in OPEN_STATUSES or survey.closes_at is None or now >= survey.closes_at:
        return None
    return survey


def answer_of(session: Session, survey: Survey) -> NpsAnswer | None:
    return session.scalar(select(NpsAnswer).where(NpsAnswer.survey_id == survey.id))


def answer_survey(session: Session, survey: Survey, score, comment, now: dt.datetime, *, settle: dt.timedelta | None,
                  keep_comment: bool = False) -> NpsAnswer:
    """Record (or change) the survey's answer; the last one before closing stands. The caller commits.

    settle: None when the person sent the form (followed up at once), else how long a one-click score waits.
    keep_comment: a one-click score leaves a comment written before as it is.
    """
    score = check_score(score)
    comment = check_comment(comment)
    answer = answer_of(session, survey)
    source = survey.channel or "link"
    due = now if settle is None else now + settle
    if answer is None:
        answer = NpsAnswer(customer_id=survey.customer_id, survey_id=survey.id, score=score, comment=comment,
                           answered_at=now, first_answered_at=now, source=source, follow_up_due_at=due)
        session.add(answer)
    else:
        if nps_category(answer.score) != nps_category(score):
            # A new class may need its own follow-up (loop.py never doubles one): the call the old class got (a
            # passive's question) is not the new class's (a detractor's recovery call), so the answer lets go of it.
            answer.followed_up_at, answer.call_id = None, None
        answer.score = score
        if not keep_comment:
            answer.comment = comment
        answer.answered_at = now
        if answer.followed_up_at is None:
            answer.follow_up_due_at = due
    survey.status = ANSWERED
    survey.answered_at = now
    if survey.customer is not None:
        survey.customer.silent_at = None
    session.flush()
    return answer


def close_due(session: Session, now: dt.datetime) -> int:
    """Close the surveys whose link time is over (their answer, if any, stands); returns how many."""
    count = session.execute(update(Survey).where(Survey.status.in_(OPEN_STATUSES), Survey.closes_at <= now)
                            .values(status=CLOSED, closed_at=now).execution_options(synchronize_session=False)
                            ).rowcount
    return count or 0


def has_answered(session: Session, customer_id: int) -> bool:
    """Whether the customer ever answered an NPS survey (one who has is not silent)."""
    return session.scalar(select(NpsAnswer.id).where(NpsAnswer.customer_id == customer_id).limit(1)) is not None


def latest_scores(session: Session, customer_ids) -> dict[int, int]:
    """The latest NPS score of each customer that has one."""
    latest: dict[int, tuple[dt.datetime, int]] = {}
    ids = list(set(customer_ids))
    for start in range(0, len(ids), 5000):
        for cid, at, score in session.execute(select(NpsAnswer.customer_id, NpsAnswer.answered_at, NpsAnswer.score)
                                              .where(id_in(session, NpsAnswer.customer_id, ids[start:start + 5000]))):
            if cid not in latest or at >= latest[cid][0]:
                latest[cid] = (at, score)
    return {cid: score for cid, (at, score) in latest.items()}
