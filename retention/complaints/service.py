"""Rules about complaint cases (issue 10 builds the five steps on this)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from retention.complaints.models import OPEN_STATUSES, SOLUTION_OFFERED, CaseChange, Complaint
from retention.hooks.processing import Waiting
from retention.queries import id_in


def open_case(session: Session, customer, data: dict, opened_at: dt.datetime) -> Complaint:
    """Open a case once per complaint id."""
    case = session.scalar(select(Complaint).where(Complaint.external_id == data["complaint_id"]))
    if case is not None:
        return case
    case = Complaint(external_id=data["complaint_id"], customer=customer, channel=data["channel"],
                     category=data["category"], summary=data["summary"], severity=data.get("severity") or "medium",
                     public_url=data.get("public_url"), opened_at=opened_at)
    session.add(case)
    session.add(CaseChange(case=case, at=opened_at, actor="event", action="status", to_status=case.status))
    return case


def resolve_case(session: Session, complaint_id: str, resolution: str, resolved_at: dt.datetime) -> Complaint:
    """Mark the solution offered; waits if the complaint's own event has not arrived yet."""
    case = session.scalar(select(Complaint).where(Complaint.external_id == complaint_id))
    if case is None:
        raise Waiting(f"complaint {complaint_id!r} is not known yet")
    if case.status in OPEN_STATUSES and case.status != SOLUTION_OFFERED and case.resolved_at is None:
        before = case.status
        case.status, case.resolved_at, case.resolution = SOLUTION_OFFERED, resolved_at, resolution
        session.add(CaseChange(case=case, at=resolved_at, actor="event", action="status", from_status=before,
                               to_status=SOLUTION_OFFERED, note=resolution))
    return case


def open_complaints(session: Session, customer_ids) -> dict[int, list[Complaint]]:
    """Each of these customers' complaints still open, oldest first (customers without one are left out)."""
    ids = list(set(customer_ids))
    found: dict[int, list[Complaint]] = {}
    for start in range(0, len(ids), 5000):
        for case in session.scalars(select(Complaint).where(
                id_in(session, Complaint.customer_id, ids[start:start + 5000]), Complaint.status.in_(OPEN_STATUSES))
                .order_by(Complaint.opened_at, Complaint.id)):
            found.setdefault(case.customer_id, []).append(case)
    return found


def customers_with_open_complaints(session: Session, customer_ids) -> set[int]:
    """Which of these customers have a complaint still open."""
    ids = list(set(customer_ids))
    found: set[int] = set()
    for start in range(0, len(ids), 5000):
        found.update(session.scalars(select(Complaint.customer_id).where(
            id_in(session, Complaint.customer_id, ids[start:start + 5000]), Complaint.status.in_(OPEN_STATUSES))))
    return found
