"""The life of a complaint case: opening it (from any source), moving it through its statuses, reopening.

Every change writes a CaseChange (the customer's timeline) and an audit entry. The caller commits. Other
complaint modules (SLA, resolution and verification, concessions, trends) build on these functions.
"""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from retention.audit.service import record
from retention.complaints.labels import STATUS_LABELS
from retention.complaints.models import (
    ACKNOWLEDGED, CHANNELS, CLOSED, INVESTIGATING, NEW, OPEN_STATUSES, SEVERITIES, SOLUTION_OFFERED, SOURCES,
    VERIFIED, CaseChange, Complaint, ComplaintCategory)
from retention.errors import Conflict, N_, NotFound, ServiceError
from retention.hooks.processing import Waiting
from retention.queries import id_in
from retention.validation import bad_character

MAX_SUMMARY = 5000
MAX_URL = 500
MAX_ANSWER = 2000
MAX_ANSWERS = 30
# Sources where a person picked the category from the list (a helpdesk's unknown key is kept as sent).
PICKED_CATEGORY = ("staff", "call")

# Which status may follow which (a move not listed is refused with 409). Reopen is its own action.
NEXT: dict[str, tuple[str, ...]] = {
    NEW: (ACKNOWLEDGED, INVESTIGATING, SOLUTION_OFFERED, CLOSED),
    ACKNOWLEDGED: (INVESTIGATING, SOLUTION_OFFERED, CLOSED),
    INVESTIGATING: (SOLUTION_OFFERED, CLOSED),
    SOLUTION_OFFERED: (VERIFIED, CLOSED),
    VERIFIED: (CLOSED,),
    CLOSED: (),
}
REOPENABLE = (SOLUTION_OFFERED, VERIFIED, CLOSED)


class ComplaintError(ServiceError):
    """A complaint action that cannot be done (422): the field and a plain-language message."""


class CaseNotFound(ComplaintError, NotFound):
    """No such case (404)."""


class CaseConflict(ComplaintError, Conflict):
    """The action does not fit the case's status (409)."""


def _check(case_fields: dict) -> None:
    if case_fields["channel"] not in CHANNELS:
        raise ComplaintError("channel", N_("Choose how the customer complained."))
    if case_fields["severity"] not in SEVERITIES:
        raise ComplaintError("severity", N_("Choose how serious it is."))
    summary = case_fields["summary"]
    if not isinstance(summary, str) or not summary.strip():
        raise ComplaintError("summary", N_("Say in a few words what the complaint is about."))
    if len(summary) > MAX_SUMMARY:
        raise ComplaintError("summary", N_("The summary can be at most %(max)s characters long."), max=MAX_SUMMARY)
    if not isinstance(case_fields["category"], str) or not case_fields["category"].strip():
        raise ComplaintError("category", N_("Choose a category."))
    url = case_fields.get("public_url")
    if url is not None:
        if not isinstance(url, str) or len(url) > MAX_URL or not url.startswith(("https://", "http://")):
            raise ComplaintError("public_url", N_("Give the public post's web address (https://...)."))
    if case_fields["channel"] == "social" and not url and case_fields.get("source") != "event":
        raise ComplaintError("public_url", N_("A complaint on social media needs the public post's web address."))


def change(session: Session, case: Complaint, *, action: str, now: dt.datetime, actor: str,
           to_status: str | None = None, note: str | None = None, audit: dict | None = None) -> CaseChange:
    """Record a change of the case on its timeline and in the audit log (and move its status when given)."""
    before = case.status
    if to_status is not None:
        case.status = to_status
    row = CaseChange(case=case, at=now, actor=actor, action=action, from_status=before if to_status else None,
                     to_status=to_status, note=note)
    session.add(row)
    session.flush()
    record(session, actor=actor, action=f"complaint.{action}", entity_type="complaint", entity_id=case.id, now=now,
           changes={"customer": case.customer.external_id if case.customer else case.customer_id,
                    **({"from": before, "to": to_status} if to_status else {}), **(audit or {})})
    return row


def open_case(session: Session, customer, *, channel: str, category: str, summary: str, now: dt.datetime,
              actor: str, source: str = "staff", severity: str = "medium", public_url: str | None = None,
              external_id: str | None = None, sale=None, owner=None, answers: dict | None = None,
              from_touchpoint_id: int | None = None, nps_answer_id: int | None = None,
              opened_at: dt.datetime | None = None) -> Complaint:
    """Open a case (status new) and put it on the timeline; once per `external_id` (a helpdesk id).

    owner: who handles it; by default the customer's owner. sale: the purchase it is about; by default the
    customer's latest. Raises ComplaintError naming the field for bad input. The caller commits.
    """
    if source not in SOURCES:
        raise ComplaintError("source", N_("Unknown source."))
    public_url = public_url or None
    _check({"channel": channel, "severity": severity, "summary": summary, "category": category,
            "public_url": public_url, "source": source})
    if source in PICKED_CATEGORY and not session.scalar(select(ComplaintCategory.id).where(
            ComplaintCategory.key == category.strip(), ComplaintCategory.active.is_(True))):
        raise ComplaintError("category", N_("Choose a category."))
    answers = clean_answers(answers or {}, allowed=None)
    if external_id is not None:
        existing = session.scalar(select(Complaint).where(Complaint.external_id == external_id))
        if existing is not None:
            return existing
    if sale is None and getattr(customer, "sales", None):
        sale = customer.sales[-1]
    case = Complaint(external_id=external_id or f"case-{uuid.uuid4().hex}", customer=customer, sale=sale,
                     status=NEW, source=source, channel=channel, category=category.strip(),
                     summary=summary.strip(), severity=severity, public_url=public_url, answers=answers or {},
                     owner=owner if owner is not None else customer.owner, opened_at=opened_at or now,
                     from_touchpoint_id=from_touchpoint_id, nps_answer_id=nps_answer_id)
    session.add(case)
    session.flush()
    change(session, case, action="opened", now=opened_at or now, actor=actor, to_status=NEW,
           audit={"source": source, "channel": channel, "category": case.category, "severity": severity})
    for hook in ON_OPEN:
        hook(session, case, now)
    return case


# Called with (session, case, now) after a case opens: the SLA module sets its targets here.
ON_OPEN: list = []
# Called with (session, case, now, from_status, to_status) after any status move (first response, closing...).
ON_STATUS: list = []
# Called with (session, case, now, previous owner) after a case changes hands: the SLA module re-targets.
ON_OWNER: list = []


def get_case(session: Session, case_id: int, *, for_update: bool = False) -> Complaint:
    query = select(Complaint).where(Complaint.id == case_id)
    if for_update:
        query = query.with_for_update()
    case = session.scalar(query)
    if case is None:
        raise CaseNotFound("case", N_("No such complaint case."))
    return case


def move(session: Session, case: Complaint, to_status: str, *, now: dt.datetime, actor: str,
         note: str | None = None) -> Complaint:
    """Move the case to `to_status` if NEXT allows it (409 otherwise), on the timeline and in the audit log."""
    if to_status == case.status:
        return case
    if to_status not in NEXT.get(case.status, ()):
        raise CaseConflict("status", N_("A case that is %(status)s cannot become %(to)s."),
                           status=STATUS_LABELS.get(case.status, case.status),
                           to=STATUS_LABELS.get(to_status, to_status))
    before = case.status
    change(session, case, action="status", now=now, actor=actor, to_status=to_status, note=note)
    if to_status == CLOSED:
        case.closed_at = now
    if to_status == VERIFIED:
        case.verified_at = now
    for hook in ON_STATUS:
        hook(session, case, now, before, to_status)
    return case


def reopen(session: Session, case: Complaint, *, now: dt.datetime, actor: str, note: str | None = None) -> Complaint:
    """Reopen a case whose solution did not hold: back to investigating, counted."""
    if case.status not in REOPENABLE:
        raise CaseConflict("status", N_("Only a case with a solution offered, verified or closed can be reopened."))
    before = case.status
    case.reopened_count += 1
    case.closed_at = None
    case.verified_at = None
    change(session, case, action="reopened", now=now, actor=actor, to_status=INVESTIGATING, note=note)
    for hook in ON_STATUS:
        hook(session, case, now, before, INVESTIGATING)
    return case


def resolve_case(session: Session, complaint_id: str, resolution: str, resolved_at: dt.datetime) -> Complaint:
    """A `complaint.resolved` event: the solution offered (as if staff had recorded it); waits if the
    complaint's own event has not arrived yet. The resolution module schedules the verification (ON_STATUS)."""
    case = session.scalar(select(Complaint).where(Complaint.external_id == complaint_id))
    if case is None:
        raise Waiting(f"complaint {complaint_id!r} is not known yet")
    # A reopened case takes a later resolution (an older one, arriving late, does not undo the reopening).
    later = case.resolved_at is None or resolved_at > case.resolved_at
    if case.status in OPEN_STATUSES and case.status not in (SOLUTION_OFFERED, VERIFIED) and later:
        case.resolution, case.resolved_at = resolution, resolved_at
        move(session, case, SOLUTION_OFFERED, now=resolved_at, actor="event", note=resolution)
    return case


def open_complaints(session: Session, customer_ids) -> dict[int, list[Complaint]]:
    """Each of these customers' cases still open, oldest first (customers without one are left out)."""
    ids = list(set(customer_ids))
    found: dict[int, list[Complaint]] = {}
    for start in range(0, len(ids), 5000):
        for case in session.scalars(select(Complaint).where(
                id_in(session, Complaint.customer_id, ids[start:start + 5000]), Complaint.status.in_(OPEN_STATUSES))
                .order_by(Complaint.opened_at, Complaint.id)):
            found.setdefault(case.customer_id, []).append(case)
    return found


def customers_with_open_complaints(session: Session, customer_ids) -> set[int]:
    """Which of these customers have a case still open (its verification pending included)."""
    ids = list(set(customer_ids))
    found: set[int] = set()
    for start in range(0, len(ids), 5000):
        found.update(session.scalars(select(Complaint.customer_id).where(
            id_in(session, Complaint.customer_id, ids[start:start + 5000]), Complaint.status.in_(OPEN_STATUSES))))
    return found


def allowed_moves(case: Complaint) -> tuple[str, ...]:
    """The statuses a person may move this case to now (the page offers only these; any other is refused with
    409). "Solution offered" is reached by recording the solution (resolution.record_solution), never bare."""
    return tuple(s for s in NEXT.get(case.status, ()) if s != SOLUTION_OFFERED)


def move_by_hand(session: Session, case: Complaint, to_status: str, *, now: dt.datetime, actor: str,
                 note: str | None = None) -> Complaint:
    """A person's move (page or API): only `allowed_moves`; a solution is recorded with its text instead."""
    if to_status == SOLUTION_OFFERED and case.status != SOLUTION_OFFERED:
        raise CaseConflict("status", N_("Record the solution itself: the case then shows it as offered."))
    return move(session, case, to_status, now=now, actor=actor, note=note)


def clean_answers(answers, *, allowed: set[str] | None) -> dict[str, str]:
    """Intake answers {question key: text}, trimmed; blank ones dropped. ComplaintError naming `answers.<key>`."""
    if not isinstance(answers, dict):
        raise ComplaintError("answers", N_("Give the answers as question: answer."))
    if len(answers) > MAX_ANSWERS:
        raise ComplaintError("answers", N_("At most %(max)s answers."), max=MAX_ANSWERS)
    cleaned = {}
    for key, text in answers.items():
        if not isinstance(key, str) or not key or len(key) > 60 or (allowed is not None and key not in allowed):
            raise ComplaintError("answers", N_("Answer the questions of the case's category."))
        if text is None:
            continue
        if not isinstance(text, str) or bad_character(text, multiline=True):
            raise ComplaintError(f"answers.{key}", N_("Write the answer as plain text."))
        text = text.strip()
        if len(text) > MAX_ANSWER:
            raise ComplaintError(f"answers.{key}", N_("An answer can be at most %(max)s characters long."),
                                 max=MAX_ANSWER)
        if text:
            cleaned[key] = text
    return cleaned


def question_keys(session: Session, case: Complaint) -> set[str]:
    """The keys the case may hold answers for: its category's questions and those already answered."""
    category = session.scalar(select(ComplaintCategory).where(ComplaintCategory.key == case.category))
    keys = {q.get("key") for q in (category.questions if category is not None else [])}
    return keys | set(case.answers or {})


def set_answers(session: Session, case: Complaint, answers: dict, *, now: dt.datetime, actor: str) -> bool:
    """Keep the intake answers on the case (step 1); on the timeline and audited. False when nothing changed."""
    cleaned = clean_answers(answers, allowed=question_keys(session, case))
    if cleaned == (case.answers or {}):
        return False
    changed = sorted(k for k in set(cleaned) | set(case.answers or {})
                     if cleaned.get(k) != (case.answers or {}).get(k))
    case.answers = cleaned
    change(session, case, action="answers", now=now, actor=actor, audit={"questions": changed})
    return True


def check_owner(staff) -> None:
    """A case is handled by an active person who makes calls (onboarding) or an admin."""
    if staff is None or not getattr(staff, "active", False) or staff.role not in ("onboarding", "admin"):
        raise ComplaintError("owner_id", N_("Choose an active colleague who handles complaints."))


def assign(session: Session, case: Complaint, staff, *, now: dt.datetime, actor: str,
           note: str | None = None) -> Complaint:
    """Give the case to `staff` (assign, or take it over); on the timeline and audited. A closed case is 409."""
    check_owner(staff)
    if not case.is_open:
        raise CaseConflict("owner_id", N_("A closed case cannot change hands; reopen it first."))
    if case.owner_id == staff.id:
        return case
    before = case.owner
    case.owner = staff
    change(session, case, action="owner", now=now, actor=actor, note=staff.display_name,
           audit={"from": before.email if before is not None else None, "to": staff.email,
                  **({"reason": note} if note else {})})
    for hook in ON_OWNER:
        hook(session, case, now, before)
    return case
