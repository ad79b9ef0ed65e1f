"""Closing the loop on an NPS answer: a detractor (0-6) opens a recovery case and a recovery call to the owner, a
passive (7-8) a "what would make it a 10" call; a promoter (9-10) becomes eligible for referral offers (the
`nps_category` fact, read by referrals). Everything lands on the customer's timeline (the case, the call).

The follow-up call is due at the first moment inside both the customer's calling hours (10:00-18:00 on their
business days) and the owner's working hours: at once during business hours, else the next business morning,
so always within one business day; My calls lists recovery calls above everything else. One answer gets at most
one case and one call (`NpsAnswer.call_id`, `Complaint.nps_answer_id`), however often it is followed up; the
journey's own detractor/passive call steps still waiting for the customer are skipped with that reason.

Answers to our own surveys and answers other systems send (`nps.response`, surveys/service.record_answer) are
followed up alike. Never doubled: an answer of the same class within SURVEY_COOLDOWN_DAYS of another answer
that already has its call (or while an NPS call of that class is still pending for the customer) is linked to that
call, with no second case or call.

One NPS call at a time for a customer, whichever way the answers move:
- to a detractor (a passive who changes the answer, or answers another survey so): the recovery call supersedes
  the passive calls still to make, which close with the reason on the timeline ("superseded by the recovery
  call"). A passive call a person holds (a call-back promised to the customer, a snooze, a reschedule: its
  `held_at`) is not taken away: it becomes the recovery call itself (purpose and note; its owner, time and history
  stay; the timeline says so), and no second call opens.
- from a detractor to a passive (or a passive answer while a recovery call is still to make): the pending recovery
  call covers it; no passive call opens beside it. To a promoter: nothing opens. Either way the recovery case
  stays as it is: a detractor's case is a complaint, closed by people, never by a later score.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app, has_app_context
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from retention.calls import adhoc
from retention.complaints import service as complaints
from retention.complaints.models import Complaint
from retention.journeys.models import PENDING, SCHEDULED, JourneyStep, Touchpoint
from retention.surveys.models import NpsAnswer, nps_category

RECOVERY, PASSIVE = "recovery", "nps_passive"
CASE_CATEGORY = "nps_detractor"
ACTOR = "system:nps"
# The reason the journey's own follow-up step is skipped with (journeys/wording.py reads it in words).
STEP_REPLACED = "an NPS follow-up call is already open"
BATCH = 200


def _summary(answer: NpsAnswer) -> str:
    head = f"NPS {answer.score}/10"
    return f"{head}: {answer.comment}" if answer.comment else head


def _skip_journey_steps(session: Session, answer: NpsAnswer, now: dt.datetime) -> None:
    """The customer's waiting call steps that exist for an NPS class (their condition reads nps_category)."""
    rows = session.execute(select(Touchpoint.id, JourneyStep.condition).join(JourneyStep, Touchpoint.step_id == JourneyStep.id)
                           .where(Touchpoint.customer_id == answer.customer_id, Touchpoint.kind == "call",
                                  Touchpoint.status == SCHEDULED)).all()
    ids = [tp_id for tp_id, condition in rows if condition and "nps_category" in repr(condition)]
    if ids:
        session.execute(update(Touchpoint).where(Touchpoint.id.in_(ids), Touchpoint.status == SCHEDULED)
                        .values(status="skipped", reason=STEP_REPLACED, completed_at=now)
                        .execution_options(synchronize_session=False))


def _same_period(session: Session, answer: NpsAnswer, category: str) -> int | None:
    """The call already following up this customer's NPS class for the same period, if any: another answer's of
    the same class within SURVEY_COOLDOWN_DAYS, else an NPS call of that purpose still pending (for a passive
    answer a pending recovery call first: it covers the customer's passive answer too)."""
    days = current_app.config.get("SURVEY_COOLDOWN_DAYS", 30) if has_app_context() else 30
    period = dt.timedelta(days=int(days))
    for call_id, score in session.execute(
            select(NpsAnswer.call_id, NpsAnswer.score).where(
                NpsAnswer.customer_id == answer.customer_id, NpsAnswer.id != answer.id,
                NpsAnswer.call_id.is_not(None), NpsAnswer.answered_at >= answer.answered_at - period,
                NpsAnswer.answered_at <= answer.answered_at + period).order_by(NpsAnswer.answered_at.desc())):
        if nps_category(score) == category:
            return call_id
    # A recovery call still to make also covers a passive answer (one NPS call at a time; it is the weightier one).
    for purpose in ((RECOVERY,) if category == "detractor" else (RECOVERY, PASSIVE)):
        pending = session.scalar(select(Touchpoint.id).where(
            Touchpoint.customer_id == answer.customer_id, Touchpoint.kind == "call", Touchpoint.status.in_(PENDING),
            Touchpoint.purpose == purpose).order_by(Touchpoint.id).limit(1))
        if pending is not None:
            return pending
    return None


def _pending_passive_calls(session: Session, customer_id: int) -> list[Touchpoint]:
    return session.scalars(select(Touchpoint).where(
        Touchpoint.customer_id == customer_id, Touchpoint.kind == "call", Touchpoint.status.in_(PENDING),
        Touchpoint.purpose == PASSIVE).order_by(Touchpoint.id)).all()


def _supersede_passive_calls(session: Session, calls: list[Touchpoint], answer: NpsAnswer, now: dt.datetime) -> None:
    """The recovery call replaces the customer's passive calls still to make (none a person holds)."""
    for call in calls:
        adhoc.supersede(session, call, by=RECOVERY, now=now, actor=ACTOR, nps_answer_id=answer.id)


def _held_passive_becomes_recovery(session: Session, answer: NpsAnswer, now: dt.datetime) -> Touchpoint | None:
    """A passive call a person holds (held_at: a call-back promised to the customer, a snooze, a reschedule)
    becomes the recovery call, keeping its owner, time and history; the other passive calls are superseded by it.
    None when no person holds one (the caller opens the recovery call)."""
    calls = _pending_passive_calls(session, answer.customer_id)
    held = next((call for call in calls if call.held_at is not None), None)
    if held is None:
        return None
    adhoc.repurpose(session, held, purpose=RECOVERY, note=(answer.comment or "")[:adhoc.MAX_NOTE] or None,
                    now=now, actor=ACTOR, nps_answer_id=answer.id, score=answer.score)
    _supersede_passive_calls(session, [call for call in calls if call is not held], answer, now)
    return held


def _follow_up_call(session: Session, answer: NpsAnswer, purpose: str,
                    now: dt.datetime) -> tuple[Touchpoint | None, str]:
    """The answer's call and how it came: ("call_id") opened now, or ("repurposed_call_id") the passive call a
    person holds, now the recovery call; (None, "") when nobody makes calls yet (tried again next time)."""
    if purpose == RECOVERY:
        held = _held_passive_becomes_recovery(session, answer, now)
        if held is not None:
            return held, "repurposed_call_id"
    try:  # due at the first moment inside the customer's and the owner's hours (calls.adhoc.reachable_due)
        call = adhoc.open_call(answer.customer, purpose=purpose, reachable=True,
                               note=(answer.comment or "")[:adhoc.MAX_NOTE], now=now, actor=ACTOR, session=session)
    except adhoc.CallError:  # nobody makes calls yet: the case (if any) still stands
        return None, ""
    if purpose == RECOVERY and call.status in PENDING:  # opened (not kept skipped: the customer opted out of calls)
        _supersede_passive_calls(session, _pending_passive_calls(session, answer.customer_id), answer, now)
    return call, "call_id"


def follow_up(session: Session, answer: NpsAnswer, now: dt.datetime) -> dict:
    """Close the loop for one answer (idempotent); returns what it opened. The caller commits."""
    category = nps_category(answer.score)
    customer = answer.customer
    opened: dict = {}
    if category in ("detractor", "passive") and answer.call_id is None:
        earlier = _same_period(session, answer, category)
        if earlier is not None:  # already followed up for this period: linked, nothing doubled
            answer.call_id, answer.followed_up_at = earlier, now
            linked = session.get(Touchpoint, earlier)
            if category == "detractor" and linked is not None and linked.purpose == RECOVERY \
                    and linked.status in PENDING:  # that recovery call replaces passive calls still to make
                _supersede_passive_calls(session, [call for call in _pending_passive_calls(session, customer.id)
                                                   if call.held_at is None], answer, now)
            return {"linked_call_id": earlier}
    channel = (answer.survey.channel if answer.survey is not None else None) or "email"
    if category == "detractor":
        exists = session.scalar(select(Complaint.id).where(Complaint.nps_answer_id == answer.id))
        if exists is None:
            case = complaints.open_case(session, customer, channel=channel if channel in ("email", "letter") else "email",
                                        category=CASE_CATEGORY, summary=_summary(answer), severity="high",
                                        source="nps", nps_answer_id=answer.id, actor=ACTOR, now=now,
                                        sale=answer.survey.sale if answer.survey is not None else None)
            opened["case_id"] = case.id
    if category in ("detractor", "passive") and answer.call_id is None:
        purpose = RECOVERY if category == "detractor" else PASSIVE
        call, key = _follow_up_call(session, answer, purpose, now)
        if call is not None:
            answer.call_id = call.id
            opened[key] = call.id
            _skip_journey_steps(session, answer, now)
    if category == "promoter" or answer.call_id is not None or category is None:
        answer.followed_up_at = now
    return opened


def follow_up_settled(session: Session, now: dt.datetime, limit: int = 1000) -> int:
    """Follow up the answers whose score has settled; commits each batch. Returns how many were followed up."""
    done = 0
    while done < limit:
        query = (select(NpsAnswer).where(NpsAnswer.followed_up_at.is_(None), NpsAnswer.follow_up_due_at <= now)
                 .order_by(NpsAnswer.follow_up_due_at, NpsAnswer.id).limit(BATCH))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        answers = session.scalars(query).all()
        if not answers:
            session.commit()
            break
        progressed = 0
        for answer in answers:
            follow_up(session, answer, now)
            if answer.followed_up_at is None:  # could not open its call: retried in an hour, not every tick
                answer.follow_up_due_at = now + dt.timedelta(hours=1)
            progressed += 1
        session.commit()
        done += progressed
    return done
