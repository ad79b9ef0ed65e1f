"""Step 4, solve and verify: recording the solution, the verification call that checks it, and what its answer does.

Recording a solution (a person, or a `complaint.resolved` event through service.resolve_case) moves the case to
solution_offered; entering that status schedules one verification call (an ad-hoc call, purpose
"complaint_verification") for the case owner COMPLAINT_VERIFY_AFTER_DAYS business days later, inside the
customer's calling hours and the owner's working hours. A case has at most one verification call pending
(`Complaint.verification_touchpoint_id`, linked by a compare-and-set on the case's row, so two requests or a
hook run twice never open two). The call is worked on My calls like any call (no answer is retried); reached, it
says whether the solution held: yes -> verified, then closed; no -> reopened (service.reopen), and the next
solution recorded schedules a new call. Never reached: the case says so and waits for its owner (schedule again,
or close). Reopening or closing a case by hand skips a call still pending. Closing a case releases the survey and
referral steps its gate held back, due at once in their order (when the customer has no other case open).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from retention.audit.service import record
from retention.calls import adhoc
from retention.calls.service import ADHOC_WINDOW, CallError, FollowUp, register_follow_up
from retention.complaints import service
from retention.complaints.models import (
    CLOSED, INVESTIGATING, OPEN_STATUSES, SOLUTION_OFFERED, VERIFIED, CaseChange, Complaint)
from retention.errors import N_
from retention.journeys import calendar, registry
from retention.journeys.models import DONE, PENDING, SCHEDULED, SKIPPED, Touchpoint
from retention.journeys.planning import owner_window
from retention.queries import id_in

PURPOSE = "complaint_verification"
MAX_SOLUTION = 5000
DEFAULT_VERIFY_AFTER_DAYS = 3
# The answers a verification call's "did the solution hold?" takes (form values and the API's booleans).
HELD = {"yes": True, "no": False, True: True, False: False}

# While a solution is being verified, surveys and offers wait with this reason (before the general
# open-complaint gate, which gives its own). Registered in register() below.
VERIFYING_GATE = registry.Gate(kinds=("nps_survey", "referral_offer"), fact="complaint_verifying",
                               reason="waiting: a complaint's solution is being verified",
                               retry=dt.timedelta(hours=24))
# The reasons of touchpoints held back by a complaint gate (released when the customer's last case closes).
GATE_REASONS = ("waiting: a complaint is open", VERIFYING_GATE.reason)


def verify_after_days() -> int:
    """COMPLAINT_VERIFY_AFTER_DAYS of the running app (3 outside one)."""
    from flask import current_app, has_app_context

    if has_app_context():
        return int(current_app.config.get("COMPLAINT_VERIFY_AFTER_DAYS", DEFAULT_VERIFY_AFTER_DAYS))
    return DEFAULT_VERIFY_AFTER_DAYS


def check_solution(text) -> str:
    if not isinstance(text, str) or not text.strip():
        raise service.ComplaintError("resolution", N_("Describe the solution offered to the customer."))
    if len(text) > MAX_SOLUTION:
        raise service.ComplaintError("resolution", N_("The solution can be at most %(max)s characters long."),
                                     max=MAX_SOLUTION)
    return text.strip()


def record_solution(session: Session, case: Complaint, text: str, *, now: dt.datetime, actor: str) -> Complaint:
    """The solution offered: status solution_offered (409 from a status that cannot get there), then a
    verification call for the owner (the ON_STATUS hook). Lock the case first (service.get_case(for_update=True)).
    The caller commits."""
    text = check_solution(text)
    if case.status not in OPEN_STATUSES or case.status in (SOLUTION_OFFERED, VERIFIED):
        raise service.CaseConflict("status", N_("A solution can be recorded only while the case is being handled "
                                                "(reopen it first)."))
    case.resolution, case.resolved_at = text, now
    service.move(session, case, SOLUTION_OFFERED, now=now, actor=actor, note=text)
    return case


def pending_verification(session: Session, case: Complaint) -> Touchpoint | None:
    """The case's verification call still waiting for an outcome, if any."""
    if case.verification_touchpoint_id is None:
        return None
    tp = session.get(Touchpoint, case.verification_touchpoint_id)
    return tp if tp is not None and tp.status in PENDING else None


def _caller(person):
    return person if person is not None and person.active and person.role in adhoc.CALLERS else None


def verification_due(case: Complaint, owner, now: dt.datetime, days: int) -> dt.datetime:
    """`days` business days after `now` (the customer's country), at the first moment inside the customer's
    calling hours and the owner's working hours."""
    customer = case.customer
    window = calendar.LocalWindow(customer.timezone or "UTC", ADHOC_WINDOW[0], ADHOC_WINDOW[1], customer.country, True)
    day = calendar.due_at(now, days, window)
    windows = [window] + ([owner_window(owner)] if owner is not None else [])
    return calendar.earliest_slot(day, windows) or day


class _AlreadyScheduled(Exception):
    """Another request linked a verification call to the case first."""


def schedule_verification(session: Session, case: Complaint, *, now: dt.datetime, actor: str) -> Touchpoint | None:
    """Open the verification call of the case's solution, unless one is pending (then None: never two).

    For the case owner (else the customer's owner, else whoever makes calls: calls.adhoc). When nobody makes
    calls the case says so on its timeline and no call is opened. The caller commits.
    """
    if pending_verification(session, case) is not None:
        return None
    owner = _caller(case.owner) or _caller(case.customer.owner)
    due = verification_due(case, owner, now, verify_after_days())
    before = case.verification_touchpoint_id
    try:
        with session.begin_nested():
            tp = adhoc.open_call(case.customer, purpose=PURPOSE, owner=owner, due_at=due, now=now, actor=actor,
                                 session=session)
            # Compare-and-set: the call counts only if nobody linked another one meanwhile (a second request or
            # worker waits for the first's row lock, then finds the link changed and takes its call back).
            same = (Complaint.verification_touchpoint_id.is_(None) if before is None
                    else Complaint.verification_touchpoint_id == before)
            if not session.execute(update(Complaint).where(Complaint.id == case.id, same)
                                   .values(verification_touchpoint_id=tp.id)
                                   .execution_options(synchronize_session=False)).rowcount:
                raise _AlreadyScheduled()
    except _AlreadyScheduled:
        session.refresh(case, ["verification_touchpoint_id"])
        return None
    except CallError as exc:  # nobody makes calls, a time too far ahead: refused before anything was written
        service.change(session, case, action="verification_not_scheduled", now=now, actor=actor,
                       audit={"reason": str(exc)})
        return None
    set_committed_value(case, "verification_touchpoint_id", tp.id)
    if tp.status == SKIPPED:  # the customer opted out of phone calls (calls.adhoc): the case says so
        service.change(session, case, action="verification_not_called", now=now, actor=actor,
                       audit={"touchpoint": tp.id, "reason": "opted_out"})
        return None
    service.change(session, case, action="verification_scheduled", now=now, actor=actor,
                   audit={"touchpoint": tp.id, "owner_id": tp.owner_id, "due_at": tp.due_at.isoformat()})
    return tp


def _cancel_pending(session: Session, case: Complaint, now: dt.datetime, why: str) -> None:
    """The pending verification call is not needed any more (an ad-hoc call ends as skipped, with the reason)."""
    tp = pending_verification(session, case)
    if tp is not None:
        tp.status, tp.completed_at, tp.reason = SKIPPED, now, f"complaint {why}: no verification needed"
        record(session, actor="system", action="call.cancelled", entity_type="touchpoint", entity_id=tp.id, now=now,
               changes={"purpose": tp.purpose, "why": f"complaint_{why}", "case": case.id})


def release_waiting(session: Session, customer_id: int, now: dt.datetime) -> int:
    """Survey and referral steps a complaint held back are due again now, in their order (a second apart),
    once the customer has no case open. Guarded by their status and reason: running twice releases nothing more."""
    still_open = session.scalar(select(Complaint.id).where(Complaint.customer_id == customer_id,
                                                           Complaint.status.in_(OPEN_STATUSES)).limit(1))
    if still_open is not None:
        return 0
    kinds = sorted(registry.gated_kinds() | set(VERIFYING_GATE.kinds))
    query = (select(Touchpoint.id).where(Touchpoint.customer_id == customer_id, Touchpoint.status == SCHEDULED,
                                         Touchpoint.kind.in_(kinds), Touchpoint.reason.in_(GATE_REASONS))
             .order_by(Touchpoint.due_at, Touchpoint.id))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # a tick handing them out right now keeps them
    ids = session.scalars(query).all()
    released = 0
    for position, tid in enumerate(ids):
        released += session.execute(
            update(Touchpoint).where(Touchpoint.id == tid, Touchpoint.status == SCHEDULED,
                                     Touchpoint.reason.in_(GATE_REASONS))
            .values(due_at=now + dt.timedelta(seconds=position), reason=None)
            .execution_options(synchronize_session="fetch")).rowcount
    return released


def on_status(session: Session, case: Complaint, now: dt.datetime, before: str, to: str) -> None:
    """service.ON_STATUS: a solution offered gets its verification call; a reopened or closed case no longer
    needs a pending one; a closed case lets what its gate held back go."""
    if to == SOLUTION_OFFERED:
        schedule_verification(session, case, now=now, actor="system")
    elif to == INVESTIGATING:
        _cancel_pending(session, case, now, "reopened")
    elif to == CLOSED:
        _cancel_pending(session, case, now, "closed")
        session.flush()
        release_waiting(session, case.customer_id, now)


# --- the verification call's outcome (calls.service.FOLLOW_UPS) ------------------------------------------

def _held(answers: dict):
    value = answers.get("solution_held")
    return HELD.get(value.strip().lower() if isinstance(value, str) else value)


def check_answer(session: Session, tp: Touchpoint, outcome: str, answers: dict) -> None:
    """A verification call that reached the customer says whether the solution held."""
    if outcome == "reached" and _held(answers) is None:
        raise CallError("solution_held", N_("Say whether the solution held: yes closes the case, no reopens it."))


def apply_answer(session: Session, tp: Touchpoint, outcome: str, answers: dict, now: dt.datetime, actor: str) -> None:
    """The solution held: verified, then closed. It did not: reopened. Never reached (after the retries, or a
    wrong number): the case says so and stays with its solution offered, for the owner to decide."""
    case = session.scalar(select(Complaint).where(Complaint.verification_touchpoint_id == tp.id)
                          .with_for_update().execution_options(populate_existing=True))
    if case is None or case.status != SOLUTION_OFFERED:
        return  # the case moved on meanwhile (closed or reopened by hand): the call's outcome is kept as a call
    if outcome == "reached":
        if _held(answers):
            service.move(session, case, VERIFIED, now=now, actor=actor, note=None)
            service.move(session, case, CLOSED, now=now, actor=actor, note=None)
        else:
            service.reopen(session, case, now=now, actor=actor, note=None)
    elif tp.status == DONE:
        service.change(session, case, action="verification_unreached", now=now, actor=actor,
                       audit={"touchpoint": tp.id, "outcome": outcome})


# --- the apology letter ------------------------------------------------------------------------------------

APOLOGY_TEMPLATE = "apology"


def apology_letters(session: Session, case: Complaint) -> int:
    """How many apology letters this case has queued."""
    return session.scalar(select(func.count()).select_from(CaseChange).where(
        CaseChange.case_id == case.id, CaseChange.action == "apology_queued")) or 0


def queue_apology(session: Session, case: Complaint, *, now: dt.datetime, actor: str, again: bool = False):
    """Queue the apology letter (postal's "apology" template, in the customer's language) for the next print
    batch; once per case unless `again` (409 otherwise); never to a customer who opted out of letters (422).
    Lock the case first. The caller commits."""
    from retention.mail.optouts import may_contact
    from retention.postal.models import Letter
    from retention.postal.service import LANGUAGES, current_template

    if not may_contact(session, case.customer_id, "letter"):
        raise service.ComplaintError("apology", N_("The customer opted out of letters: no apology letter can be "
                                                   "sent."))
    if apology_letters(session, case) and not again:
        raise service.CaseConflict("apology", N_("An apology letter is already queued for this case; "
                                                 "choose to send another one if you mean to."))
    base = (case.customer.locale or "en").split("-")[0].lower()
    language = base if base in LANGUAGES else "en"
    if current_template(session, APOLOGY_TEMPLATE, language) is None:
        raise service.ComplaintError("apology", N_("There is no apology letter template: add one first."))
    letter = Letter(customer_id=case.customer_id, sale_id=case.sale_id, template_key=APOLOGY_TEMPLATE,
                    language=language, status="queued", created_at=now)
    session.add(letter)
    session.flush()
    service.change(session, case, action="apology_queued", now=now, actor=actor,
                   audit={"letter": letter.id, "language": language, "again": bool(again)})
    return letter


# --- gating: the reason a survey waits while a solution is being verified ----------------------------------

def verifying_facts(session: Session, customer_ids: set[int]) -> dict[int, dict]:
    """Customers with a case whose solution's verification call is still pending."""
    ids = list(customer_ids)
    found: dict[int, dict] = {}
    for start in range(0, len(ids), 5000):
        for cid in session.scalars(
                select(Complaint.customer_id).join(Touchpoint, Touchpoint.id == Complaint.verification_touchpoint_id)
                .where(id_in(session, Complaint.customer_id, ids[start:start + 5000]),
                       Complaint.status == SOLUTION_OFFERED, Touchpoint.status.in_(PENDING))):
            found[cid] = {"complaint_verifying": True}
    return found


VERIFYING = registry.Facts(verifying_facts, defaults={"complaint_verifying": False})
FOLLOW_UP = FollowUp(PURPOSE, check=check_answer, apply=apply_answer)


def register() -> None:
    """Called by complaints/registration.py before its own gate (the first gate that holds gives the reason)."""
    registry.register_facts(VERIFYING)
    registry.register_gate(VERIFYING_GATE)
    register_follow_up(FOLLOW_UP)
    if on_status not in service.ON_STATUS:
        service.ON_STATUS.append(on_status)
