"""Calls and notes that no journey planned: opened by a person (or a feature, e.g. returned mail) for a purpose.

An ad-hoc call is a Touchpoint of kind "call" without an enrollment or step, with a `purpose` (PURPOSES) and
an optional note; it opens at once in its owner's My calls (status "open", due when asked) and is worked like
any call there (outcome, retries, snooze, reschedule, reassign: retention/calls/service.py). A call made just
now without a task is logged as an ad-hoc call and its outcome at once. Notes are CustomerNote rows.
Everything lands on the customer's timeline (retention/calls/timeline.py) and in the audit log.

A customer who opted out of phone calls (mail.optouts.may_contact) gets none of the calls the system opens
(SYSTEM_PURPOSES): the call is kept as skipped, never in anyone's list, with the reason; opting out closes the
calls still to make in someone's list the same way (close_open_calls).
"""
from __future__ import annotations

import datetime as dt
import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retention.audit.service import record
from retention.calls.models import CustomerNote
from retention.calls.service import (
    ADHOC_WINDOW, CallError, N_, check_call_time, check_notes, check_outcome, log_outcome,
)
from retention.customers.models import Customer
from retention.journeys import calendar, registry
from retention.journeys.models import OPEN, PENDING, SKIPPED, Touchpoint
from retention.journeys.planning import owner_window
from retention.journeys.service import complete_finished
from retention.mail.optouts import may_contact
from retention.staff.models import StaffUser

# Why an ad-hoc call exists (machine key -> label shown on the card and the timeline).
PURPOSES = {
    "follow_up": _l("Follow-up call"),
    "customer_request": _l("The customer asked to be called"),
    "complaint_follow_up": _l("Follow up on a complaint"),
    "fix_address": _l("Fix the address: mail came back"),
    # Opened by complaints/resolution.py when a solution is recorded: did the solution hold?
    "complaint_verification": _l("Check that a complaint's solution held"),
    # Opened by surveys/loop.py from an NPS answer: a detractor's recovery call, a passive's question.
    "recovery": _l("Recovery call: unhappy in the NPS survey"),
    "nps_passive": _l("What would make it a 10?"),
}
# Calls the system opens (a person did not choose to make them): not opened for a customer who opted out of calls.
SYSTEM_PURPOSES = ("recovery", "nps_passive", "complaint_verification", "fix_address")
# Purposes a person picks on the customer page (fix_address is opened by returned mail).
PAGE_PURPOSES = ("follow_up", "customer_request", "complaint_follow_up", "fix_address")
MAX_NOTE = 5000
CALLERS = ("onboarding", "admin")
# Why a call still to make was closed: another call replaces it (supersede); the timeline says it in words.
SUPERSEDED = re.compile(r"superseded by the ([a-z_]+) call\Z")


def _staff_id(actor: str) -> int | None:
    kind, _, ident = (actor or "").partition(":")
    return int(ident) if kind == "staff" and ident.isdigit() else None


def _least_loaded_caller(session: Session) -> StaffUser | None:
    """The active onboarding person with the fewest calls still to make (ties: lowest id)."""
    load = (select(Touchpoint.owner_id, func.count().label("n")).where(
        Touchpoint.kind == "call", Touchpoint.status.in_(PENDING)).group_by(Touchpoint.owner_id).subquery())
    return session.scalar(
        select(StaffUser).outerjoin(load, load.c.owner_id == StaffUser.id)
        .where(StaffUser.role == "onboarding", StaffUser.active.is_(True))
        .order_by(func.coalesce(load.c.n, 0), StaffUser.id).limit(1))


def _owner_for(session: Session, customer: Customer, owner: StaffUser | None, actor: str) -> StaffUser:
    """The owner asked for; else the customer's; else the person opening it if they make calls; else the least loaded."""
    if owner is not None:
        if not owner.active or owner.role not in CALLERS:
            raise CallError("owner_id", N_("Choose an active colleague who makes calls."))
        return owner
    for candidate in (customer.owner, session.get(StaffUser, _staff_id(actor)) if _staff_id(actor) else None):
        if candidate is not None and candidate.active and candidate.role in CALLERS:
            return candidate
    chosen = _least_loaded_caller(session)
    if chosen is None:
        raise CallError("owner_id", N_("Nobody makes calls yet: add an onboarding colleague first."))
    return chosen


def _check_note(note) -> str:
    if note is None:
        return ""
    if not isinstance(note, str):
        raise CallError("note", N_("The note must be text."))
    if len(note) > MAX_NOTE:
        raise CallError("note", N_("The note can be at most %(max)s characters long."), max=MAX_NOTE)
    return note.strip()


def open_call(customer: Customer, *, purpose: str, owner: StaffUser | None = None, due_at: dt.datetime | None = None,
              note: str = "", now: dt.datetime, actor: str, session: Session | None = None,
              reachable: bool = False) -> Touchpoint:
    """Open a call not tied to a journey step, in its owner's My calls (due now unless `due_at` is given;
    `reachable`: at the first moment inside the customer's calling hours and the owner's working hours).

    owner: by default the customer's owner (else the person opening it if they make calls, else the least
    loaded onboarding person). Audited as "call.opened". A call the system opens (SYSTEM_PURPOSES) for a
    customer who opted out of phone calls is kept as skipped with the reason, in nobody's list. The caller commits.
    """
    session = session or _session_of(customer)
    if purpose not in PURPOSES:
        raise CallError("purpose", N_("Choose why this call is needed."))
    note = _check_note(note)
    due = now if due_at is None else check_call_time("due_at", due_at, now)
    who = _owner_for(session, customer, owner, actor)
    if due_at is None and reachable:
        due = reachable_due(customer, who, now)
    # A time a person asked for is held (kept as promised, e.g. by a colleague covering an absence); a time the
    # system chose for its own calls (a complaint's verification in N business days) is the system's.
    held = due_at is not None and purpose not in SYSTEM_PURPOSES
    tp = Touchpoint(customer=customer, kind="call", purpose=purpose, note=note or None, due_at=due, status=OPEN,
                    owner=who, attempts=0, handed_at=now, held_at=now if held else None)
    session.add(tp)
    session.flush()  # written before the opt-out is read: on SQLite the write lock is taken first, as before
    if purpose in SYSTEM_PURPOSES and not may_contact(session, customer.id, "phone"):
        tp.status, tp.handed_at, tp.held_at, tp.completed_at = SKIPPED, None, None, now
        tp.reason = registry.not_contacted_reason("phone")
        session.flush()
        record(session, actor=actor, action="call.not_opened", entity_type="touchpoint", entity_id=tp.id, now=now,
               changes={"customer": customer.external_id, "purpose": purpose, "why": "opted_out"})
        return tp
    record(session, actor=actor, action="call.opened", entity_type="touchpoint", entity_id=tp.id, now=now,
           changes={"customer": customer.external_id, "purpose": purpose, "owner_id": who.id,
                    "due_at": due.isoformat(), **({"note": note} if note else {})})
    return tp


def reachable_due(customer: Customer, owner: StaffUser | None, now: dt.datetime) -> dt.datetime:
    """The first moment inside the customer's calling hours (ADHOC_WINDOW on their business days) and the owner's
    working hours: at once during both, else the next such moment (always within a business day)."""
    window = calendar.LocalWindow(customer.timezone or "UTC", ADHOC_WINDOW[0], ADHOC_WINDOW[1], customer.country, True)
    windows = [window] + ([owner_window(owner)] if owner is not None else [])
    return calendar.earliest_slot(now, windows) or calendar.next_business_morning(now, window)


def close_open_calls(session: Session, customer_id: int, now: dt.datetime, actor: str) -> int:
    """The customer opted out of phone calls: every call still to make (open in someone's list, coming up there,
    or paused) ends as skipped with the reason; journeys whose last step that was are completed. Returns how many."""
    calls = session.scalars(select(Touchpoint).where(
        Touchpoint.customer_id == customer_id, Touchpoint.kind == "call", Touchpoint.status.in_(PENDING))).all()
    for tp in calls:
        tp.status, tp.paused_from, tp.completed_at = SKIPPED, None, now
        tp.reason = registry.not_contacted_reason("phone")
        record(session, actor=actor, action="call.cancelled", entity_type="touchpoint", entity_id=tp.id, now=now,
               changes={"purpose": tp.purpose, "why": "opted_out"})
    session.flush()
    complete_finished(session, {tp.enrollment_id for tp in calls if tp.enrollment_id is not None}, now)
    return len(calls)


def supersede(session: Session, tp: Touchpoint, *, by: str, now: dt.datetime, actor: str, **why) -> None:
    """Close an ad-hoc call still to make because a call for purpose `by` replaces it (e.g. a passive's question
    once the customer's answer turned into a detractor's: one call about one answer): skipped with the reason
    ("superseded by the <by> call", said on the timeline), audited as "call.cancelled". The caller has checked that
    no person holds it (a time promised to the customer: see repurpose)."""
    tp.status, tp.paused_from, tp.completed_at = SKIPPED, None, now
    tp.reason = f"superseded by the {by} call"
    record(session, actor=actor, action="call.cancelled", entity_type="touchpoint", entity_id=tp.id, now=now,
           changes={"purpose": tp.purpose, "why": "superseded", "by": by, **why})


def repurpose(session: Session, tp: Touchpoint, *, purpose: str, note: str | None, now: dt.datetime, actor: str,
              **why) -> None:
    """An ad-hoc call still to make serves another purpose from now on, keeping its owner, time, reason and
    history: the way to change what a call is for when a person holds it (a call-back promised to the customer, a
    snooze, a reschedule: work a person holds is never taken away). `note`, when given, replaces its note (the old
    one is kept in the audit entry "call.repurposed", which the timeline shows)."""
    if purpose not in PURPOSES:
        raise CallError("purpose", N_("Choose why this call is needed."))
    note = _check_note(note)
    changes = {"from": tp.purpose, "to": purpose, **why}
    if note and tp.note and note != tp.note:
        changes["note_was"] = tp.note
    record(session, actor=actor, action="call.repurposed", entity_type="touchpoint", entity_id=tp.id, now=now,
           changes=changes)
    tp.purpose = purpose
    if note:
        tp.note = note


def log_call(customer: Customer, *, staff: StaffUser, outcome: str, now: dt.datetime, actor: str,
             notes: str = "", sentiment: str | None = None, call_back_at: dt.datetime | None = None,
             purpose: str = "follow_up", session: Session | None = None) -> Touchpoint:
    """A call made just now without a task: an ad-hoc call owned by the caller, with its outcome logged at once
    (a call back stays in their list for the time given; no answer is retried like any call)."""
    session = session or _session_of(customer)
    check_outcome(outcome, sentiment)
    check_notes("notes", notes)
    if outcome == "call_back":
        check_call_time("call_back_at", call_back_at, now)
    if not staff.active or staff.role not in CALLERS:
        raise CallError("staff", N_("Only colleagues who make calls can log one."))
    tp = open_call(customer, purpose=purpose, owner=staff, now=now, actor=actor, session=session)
    return log_outcome(session, tp.id, staff=staff, outcome=outcome, now=now, notes=notes, sentiment=sentiment,
                       call_back_at=call_back_at, actor=actor)


def log_note(customer: Customer, text: str, *, now: dt.datetime, actor: str,
             session: Session | None = None) -> CustomerNote:
    """A note on the customer, on their timeline; audited as "customer.note". The caller commits."""
    session = session or _session_of(customer)
    if not isinstance(text, str) or not text.strip():
        raise CallError("note", N_("Write the note first."))
    text = _check_note(text)
    note = CustomerNote(customer_id=customer.id, staff_id=_staff_id(actor), at=now, text=text)
    session.add(note)
    session.flush()
    record(session, actor=actor, action="customer.note", entity_type="customer", entity_id=customer.external_id,
           now=now, changes={"note_id": note.id, "length": len(text)})
    return note


def _session_of(customer: Customer) -> Session:
    from sqlalchemy.orm import object_session

    from retention.extensions import db

    return object_session(customer) or db.session
