"""Rules about follow-up calls: the owner's list, outcomes, retries, snooze, reschedule, reassign, silence."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from retention.audit.service import record
from retention.calls.models import OUTCOMES, SENTIMENTS, CallAttempt
from retention.complaints.service import open_complaints
from retention.customers.models import Customer, Sale
from retention.errors import Conflict, N_, NotFound, ServiceError
from retention.queries import id_in
from retention.journeys import calendar
from retention.journeys.models import DONE, OPEN, PENDING, SCHEDULED, Enrollment, Touchpoint
from retention.journeys.planning import ADHOC_WINDOW, call_window, owner_window  # noqa: F401 (ADHOC_WINDOW: re-exported)
from retention.journeys.service import JourneyError, complete_if_finished
from retention.staff import policy
from retention.staff.models import StaffUser
from retention.surveys.service import has_answered, latest_scores

CALLABLE = (SCHEDULED, OPEN)
# A call that does not reach the customer is tried this many times in all (the next business day each time), then
# closed "not reached". Only tries that did not reach them count (NOT_REACHED): a call back reached the customer,
# who named another time, so any number of call-backs may come between the tries. Call-backs cannot loop by
# themselves: each one is logged by a person with a time the customer gave (check_call_time: at most a year ahead).
MAX_CALL_ATTEMPTS = 3
# Outcomes of a try that did not reach the customer: what MAX_CALL_ATTEMPTS counts (a wrong number ends the call).
NOT_REACHED = ("no_answer", "voicemail")
# Outcomes of a call the customer took: they are not silent.
REACHED = ("reached", "call_back")
# ADHOC_WINDOW (journeys/planning.py): an ad-hoc call's window in the customer's zone.


class CallError(ServiceError):
    """A call action that cannot be done (422): the field and a plain-language message (retention/errors.py).

    Also takes the older form, one English text "field: message".
    """

    def __init__(self, field: str, message: str | None = None, **params):
        if message is None:
            field, _sep, message = field.partition(": ") if ": " in field else ("", "", field)
        super().__init__(field, message, **params)


class CallNotFound(CallError, NotFound):
    """No call with this id (404)."""


class CallConflict(CallError, Conflict):
    """The call is not waiting for this action, e.g. it is already done (409)."""


# A time a person sets for a call: now (a few minutes' slack for a slow form) up to about a year ahead.
PAST_TOLERANCE = dt.timedelta(minutes=5)
MAX_AHEAD = dt.timedelta(days=366)
MAX_REASSIGN = 500
MAX_NOTES = 5000


def check_call_time(field: str, when: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """A call-back or reschedule time with its zone, from now to a year ahead, in UTC; CallError otherwise."""
    latest = now + MAX_AHEAD
    if when is None or when.tzinfo is None or when.utcoffset() is None:
        raise CallError(field, N_("Enter a date and time."))
    try:
        when = when.astimezone(dt.timezone.utc)
    except (OverflowError, ValueError):
        when = None
    if when is None or not now - PAST_TOLERANCE <= when <= latest:
        raise CallError(field, N_("Choose a time between now and %(latest)s (at most a year ahead)."), latest=latest)
    return when


def check_notes(field: str, notes) -> str:
    if not isinstance(notes, str):
        raise CallError(field, N_("Notes must be text."))
    if len(notes) > MAX_NOTES:
        raise CallError(field, N_("Notes can be at most %(max)s characters long."), max=MAX_NOTES)
    return notes


# What puts a call before routine ones in its group (overdue, today, upcoming), most pressing first.
PRIORITY_FLAGS = ("recovery", "detractor", "unhappy", "complaint", "silent")
# Ad-hoc calls My calls lists above every group (surveys/loop.py: a detractor's recovery call).
FIRST_PURPOSES = ("recovery",)
DETRACTOR_MAX = 6  # latest NPS 0-6


@dataclass
class CallCard:
    """What staff see before dialling: the call, why it exists, and its customer's context."""

    touchpoint: Touchpoint
    customer: Customer
    sale: object
    days_since_sale: int | None
    latest_nps: int | None
    open_complaints: list
    last_contact: CallAttempt | None
    silent: bool
    flags: tuple = ()            # PRIORITY_FLAGS that apply, in that order
    unreached: int = 0           # its tries that did not reach the customer (NOT_REACHED), of MAX_CALL_ATTEMPTS
    script_language: str = ""    # the language of `script` (the customer's, else English, else any)
    script: str = ""

    @property
    def priority(self) -> int:
        """0 for the most pressing flag ... len(PRIORITY_FLAGS) for a routine call."""
        return min((PRIORITY_FLAGS.index(f) for f in self.flags), default=len(PRIORITY_FLAGS))


def _local_day_bounds(day: dt.date, zone: str) -> tuple[dt.datetime, dt.datetime]:
    tz = calendar.time_zone(zone)
    start = dt.datetime.combine(day, dt.time(0), tz).astimezone(dt.timezone.utc)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tz).astimezone(dt.timezone.utc)
    return start, end


def my_calls(session: Session, owner: StaffUser, now: dt.datetime, upcoming_days: int = 7) -> dict[str, list[CallCard]]:
    """The owner's calls: overdue, due today (their own calendar day), upcoming.

    Within each group what matters comes before routine calls: a detractor (latest NPS 0-6), then an
    unhappy last call, an open complaint, a silent customer (PRIORITY_FLAGS); then the due time.
    """
    today = now.astimezone(calendar.time_zone(owner.timezone)).date()
    start, end = _local_day_bounds(today, owner.timezone)
    horizon = end + dt.timedelta(days=upcoming_days)
    rows = session.scalars(
        select(Touchpoint).where(Touchpoint.owner_id == owner.id, Touchpoint.kind == "call",
                                 Touchpoint.status.in_(CALLABLE), Touchpoint.due_at < horizon)
        .options(joinedload(Touchpoint.customer), joinedload(Touchpoint.step), joinedload(Touchpoint.covering_for),
                 joinedload(Touchpoint.enrollment).joinedload(Enrollment.sale))
        .order_by(Touchpoint.due_at, Touchpoint.id).limit(500)).all()
    cards = cards_for(session, rows, now)
    groups = {"first": [], "overdue": [], "today": [], "upcoming": []}
    for card in cards:
        due = card.touchpoint.due_at
        if card.touchpoint.purpose in FIRST_PURPOSES:  # a recovery call is due within a business day: on top
            groups["first"].append(card)
            continue
        groups["overdue" if due < start else "today" if due < end else "upcoming"].append(card)
    for group in groups.values():
        group.sort(key=lambda c: (c.priority, c.touchpoint.due_at, c.touchpoint.id))
    return groups


def cards_for(session: Session, touchpoints: list[Touchpoint], now: dt.datetime) -> list[CallCard]:
    """Context cards, loading the context of all the calls in a few queries (none per card)."""
    customer_ids = list({tp.customer_id for tp in touchpoints})
    if not customer_ids:
        return []
    nps = latest_scores(session, customer_ids)
    complaints = open_complaints(session, customer_ids)
    last: dict[int, CallAttempt] = {}
    for start in range(0, len(customer_ids), 5000):
        chunk = customer_ids[start:start + 5000]
        latest = (select(CallAttempt.customer_id, func.max(CallAttempt.id).label("id"))
                  .where(id_in(session, CallAttempt.customer_id, chunk)).group_by(CallAttempt.customer_id).subquery())
        for attempt in session.scalars(select(CallAttempt).join(latest, CallAttempt.id == latest.c.id)):
            last[attempt.customer_id] = attempt
    unreached = unreached_tries(session, [tp.id for tp in touchpoints if tp.attempts])
    # Ad-hoc calls belong to no sale: their customer's latest sale gives the context.
    adhoc = list({tp.customer_id for tp in touchpoints if tp.enrollment_id is None})
    latest_sales = {}
    if adhoc:
        for sale in session.scalars(select(Sale).where(id_in(session, Sale.customer_id, adhoc))
                                    .order_by(Sale.sold_at, Sale.id)):
            latest_sales[sale.customer_id] = sale
    cards = []
    for tp in touchpoints:
        if tp.enrollment is not None:
            sale = tp.enrollment.sale
            sold = sale.sold_at if sale else tp.enrollment.anchor_at
        else:
            sale = latest_sales.get(tp.customer_id)
            sold = sale.sold_at if sale else None
        score, contact = nps.get(tp.customer_id), last.get(tp.customer_id)
        flags = tuple(flag for flag, on in (
            ("recovery", tp.purpose in FIRST_PURPOSES),
            ("detractor", score is not None and score <= DETRACTOR_MAX),
            ("unhappy", contact is not None and contact.sentiment == "unhappy"),
            ("complaint", bool(complaints.get(tp.customer_id))),
            ("silent", tp.customer.silent_at is not None)) if on)
        language, script = tp.step.script_for(tp.customer.locale) if tp.step is not None else ("", "")
        cards.append(CallCard(tp, tp.customer, sale, (now - sold).days if sold else None, score,
                              complaints.get(tp.customer_id, []), contact, tp.customer.silent_at is not None,
                              flags, unreached.get(tp.id, 0), language, script))
    return cards


def unreached_tries(session: Session, touchpoint_ids: list[int]) -> dict[int, int]:
    """{call id: how many of its tries did not reach the customer (NOT_REACHED)}, for the calls that have any."""
    counts: dict[int, int] = {}
    for start in range(0, len(touchpoint_ids), 5000):
        chunk = touchpoint_ids[start:start + 5000]
        counts.update(session.execute(
            select(CallAttempt.touchpoint_id, func.count()).where(
                id_in(session, CallAttempt.touchpoint_id, chunk), CallAttempt.outcome.in_(NOT_REACHED))
            .group_by(CallAttempt.touchpoint_id)).all())
    return counts


def _callable(session: Session, touchpoint_id: int) -> Touchpoint:
    tp = session.get(Touchpoint, touchpoint_id) if 0 < touchpoint_id < 2**31 else None
    if tp is None or tp.kind != "call":
        raise CallNotFound("touchpoint", N_("There is no such call."))
    if tp.status not in CALLABLE:
        raise CallConflict("touchpoint", N_("This call is no longer waiting (it is done, skipped or paused): "
                                            "nothing was changed."))
    return tp


def callable_call(session: Session, touchpoint_id: int) -> Touchpoint:
    """The call waiting for an outcome; CallNotFound (404) or CallConflict (409) otherwise."""
    return _callable(session, touchpoint_id)


def check_call_action(session: Session, user, touchpoint_id: int) -> str | None:
    """Raise policy.NotYourCall unless `user` may work this call; the owner's email when an admin acts for them.

    An unknown id passes here: the calls service answers it (not found) as before.
    """
    touchpoint = session.get(Touchpoint, touchpoint_id)
    if touchpoint is None:
        return None
    if not policy.may_work_call(user, touchpoint):
        from flask_babel import gettext

        if touchpoint.owner:
            raise policy.NotYourCall(gettext("This call belongs to %(owner)s; reassign it to yourself first.",
                                             owner=touchpoint.owner.display_name))
        raise policy.NotYourCall(gettext("This call belongs to nobody; reassign it to yourself first."))
    if touchpoint.owner_id is not None and touchpoint.owner_id != user.id:
        return touchpoint.owner.email
    return None


def _customer_window(tp: Touchpoint) -> calendar.LocalWindow:
    """The step's window in the customer's zone; an ad-hoc call: 10:00-18:00 on the customer's business days."""
    return call_window(tp)


def _scheduled(tp: Touchpoint) -> str:
    """The status of a call waiting for a later time: "scheduled" for a journey step; an ad-hoc call stays
    "open" in its owner's list (the tick hands out journey steps only)."""
    return SCHEDULED if tp.step_id is not None else OPEN


def _windows(tp: Touchpoint):
    windows = [_customer_window(tp)]
    if tp.owner is not None:
        windows.append(owner_window(tp.owner))
    return windows


def _on_behalf_of(tp: Touchpoint, actor_id: int | None) -> dict:
    """The owner's email when someone else (an admin) works their call, for the audit entry."""
    if tp.owner_id is not None and actor_id is not None and tp.owner_id != actor_id:
        return {"on_behalf_of": tp.owner.email}
    return {}


def _staff_id(actor: str) -> int | None:
    kind, _, ident = actor.partition(":")
    return int(ident) if kind == "staff" and ident.isdigit() else None


@dataclass(frozen=True)
class FollowUp:
    """What a feature does with the outcome of an ad-hoc call it opened for `purpose` (registered by that feature).

    `check(session, tp, outcome, answers)` raises CallError naming the field before anything changes (e.g. a
    complaint's verification call must say whether the solution held); `apply(session, tp, outcome, answers, now,
    actor)` runs after the outcome is recorded, in the same transaction. `answers`: the extra fields sent.
    """

    purpose: str
    check: Callable
    apply: Callable


FOLLOW_UPS: dict[str, FollowUp] = {}


def register_follow_up(follow_up: FollowUp) -> None:
    FOLLOW_UPS[follow_up.purpose] = follow_up


def log_outcome(session: Session, touchpoint_id: int, *, staff: StaffUser, outcome: str, now: dt.datetime,
                notes: str = "", sentiment: str | None = None, call_back_at: dt.datetime | None = None,
                actor: str | None = None, answers: dict | None = None) -> Touchpoint:
    """Record a call's outcome and what follows from it (audited as `actor`, by default the staff member).

    reached: done. no answer / voicemail: retried on the next business day inside the windows until
    MAX_CALL_ATTEMPTS tries have not reached the customer (NOT_REACHED; call-backs in between do not count: the
    customer was reached); then done, and a customer never reached who never answered a survey is flagged
    silent. wrong number: done. call back: due again at the time the customer gave.
    `tp.attempts` counts every call made on it (the API's `attempts`), whatever came of it.
    """
    tp = _callable(session, touchpoint_id)  # an unknown call is 404 whatever was sent
    check_outcome(outcome, sentiment)
    if outcome == "call_back":
        call_back_at = check_call_time("call_back_at", call_back_at, now)
    else:
        call_back_at = None  # a time is only kept for a call back
    notes = check_notes("notes", notes)
    follow_up = FOLLOW_UPS.get(tp.purpose) if tp.purpose else None
    if follow_up is not None:
        follow_up.check(session, tp, outcome, answers or {})
    customer = tp.customer
    record(session, actor=actor or f"staff:{staff.id}", action="call.outcome", entity_type="touchpoint",
           entity_id=tp.id, now=now, changes={"outcome": outcome, **_on_behalf_of(tp, staff.id)})
    session.add(CallAttempt(touchpoint_id=tp.id, customer_id=customer.id, staff_id=staff.id, at=now,
                            outcome=outcome, sentiment=sentiment, notes=notes, call_back_at=call_back_at))
    tp.attempts += 1
    tp.outcome = outcome
    if outcome in REACHED:
        customer.silent_at = None  # on the line, if only to name another time
    if outcome == "reached":
        tp.status, tp.completed_at, tp.reason = DONE, now, None
    elif outcome in NOT_REACHED:
        session.flush()
        tries = unreached_tries(session, [tp.id]).get(tp.id, 0)  # this one included
        if tries < MAX_CALL_ATTEMPTS:
            window = _customer_window(tp)
            retry = calendar.next_business_morning(now, window)
            tp.due_at = calendar.earliest_slot(retry, _windows(tp)) or retry
            tp.status, tp.reason = _scheduled(tp), f"retry {tries + 1} of {MAX_CALL_ATTEMPTS} after {outcome}"
            tp.held_at = None  # the retry time is the rule's, not a person's (the attempts keep it held)
        else:
            tp.status, tp.completed_at = DONE, now
            tp.reason = f"not reached after {MAX_CALL_ATTEMPTS} attempts"
            _flag_if_silent(session, customer, now)
    elif outcome == "wrong_number":
        tp.status, tp.completed_at, tp.reason = DONE, now, "wrong number: check the phone number"
        customer.phone_flagged_at = now  # shown on the customer page until the phone is corrected
    else:  # call_back
        tp.due_at, tp.status, tp.reason = call_back_at, _scheduled(tp), "customer asked to be called back"
        tp.held_at = now
    if tp.status == DONE:
        complete_if_finished(session, tp.enrollment, now)
    if follow_up is not None:
        follow_up.apply(session, tp, outcome, answers or {}, now, actor or f"staff:{staff.id}")
    return tp


def check_outcome(outcome, sentiment) -> None:
    if outcome not in OUTCOMES:
        raise CallError("outcome", N_("Choose what came of the call."))
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise CallError("sentiment", N_("Choose how the customer felt, or leave it empty."))


def _flag_if_silent(session: Session, customer: Customer, now: dt.datetime) -> None:
    session.flush()
    reached = session.scalar(select(func.count()).select_from(CallAttempt).where(
        CallAttempt.customer_id == customer.id, CallAttempt.outcome.in_(REACHED)))
    if not reached and not has_answered(session, customer.id):
        customer.silent_at = customer.silent_at or now


def snooze(session: Session, touchpoint_id: int, *, hours: int, now: dt.datetime, actor: str) -> Touchpoint:
    """Put a call off for a few hours (to the next moment inside the windows)."""
    tp = _callable(session, touchpoint_id)  # an unknown call is 404 whatever was sent
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= 24 * 14:
        raise CallError("hours", N_("Choose how long to snooze: from 1 hour to 14 days."))
    target = now + dt.timedelta(hours=hours)
    tp.due_at = calendar.earliest_slot(target, _windows(tp)) or target
    tp.status, tp.reason, tp.held_at = _scheduled(tp), f"snoozed {hours} h", now
    record(session, actor=actor, action="call.snoozed", entity_type="touchpoint", entity_id=tp.id, now=now,
           changes={"hours": hours, "due_at": tp.due_at.isoformat(), **_on_behalf_of(tp, _staff_id(actor))})
    return tp


def reschedule(session: Session, touchpoint_id: int, *, due_at: dt.datetime, now: dt.datetime,
               actor: str) -> Touchpoint:
    """Move a call to a given time."""
    tp = _callable(session, touchpoint_id)  # an unknown call is 404 whatever was sent
    due_at = check_call_time("due_at", due_at, now)
    tp.due_at, tp.status, tp.reason, tp.held_at = due_at, _scheduled(tp), "rescheduled", now
    record(session, actor=actor, action="call.rescheduled", entity_type="touchpoint", entity_id=tp.id, now=now,
           changes={"due_at": due_at.isoformat(), **_on_behalf_of(tp, _staff_id(actor))})
    return tp


def reassign(session: Session, touchpoint_ids: list[int], *, owner_id: int, actor: str, now: dt.datetime,
             move_customer: bool = True) -> int:
    """Give one or many calls (and by default their customers) to another onboarding person.

    One audit entry per call that changed hands, naming who had it before.
    """
    owner = session.get(StaffUser, owner_id) if isinstance(owner_id, int) and 0 < owner_id < 2**31 else None
    if owner is None or not owner.active or owner.role not in ("onboarding", "admin"):
        raise CallError("owner_id", N_("Choose an active colleague who makes calls."))
    if not touchpoint_ids:
        raise CallError("touchpoint_ids", N_("Select at least one call."))
    if len(touchpoint_ids) > MAX_REASSIGN:
        raise CallError("touchpoint_ids", N_("Select at most %(max)s calls at once."), max=MAX_REASSIGN)
    changed = 0
    for tid in touchpoint_ids:
        tp = session.get(Touchpoint, tid) if 0 < tid < 2**31 else None
        if tp is None or tp.kind != "call":
            raise CallError("touchpoint_ids", N_("One of the selected calls does not exist any more."))
        if tp.status not in PENDING:
            continue
        record(session, actor=actor, action="call.reassigned", entity_type="touchpoint", entity_id=tp.id, now=now,
               changes={"owner_id": owner.id, "from_owner_id": tp.owner_id, "customer_moved": move_customer})
        tp.owner = owner
        tp.covering_for_id = None  # handed on by a person: the new owner's own call, nobody's cover
        if move_customer:
            tp.customer.owner = owner
            for other in session.scalars(select(Touchpoint).where(
                    Touchpoint.customer_id == tp.customer_id, Touchpoint.kind == "call",
                    Touchpoint.status.in_(PENDING))):
                other.owner, other.covering_for_id = owner, None
        changed += 1
    return changed


__all__ = ["CallConflict", "CallError", "CallNotFound", "JourneyError", "N_", "check_call_time", "check_notes",
           "check_outcome", "log_outcome", "my_calls", "reassign", "reschedule", "snooze", "unreached_tries"]
