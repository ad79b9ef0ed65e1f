"""Timeline entries from journeys: steps handed out, skipped or cancelled; one line per move to a new version."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from retention.audit.models import AuditEntry
from retention.customers.models import Customer
from retention.customers.timeline import Entry
from retention.journeys.models import CANCELLED, HANDED, SKIPPED, Enrollment, Touchpoint


def journey_moves(session: Session, customer, limit: int) -> list[Entry]:
    """The customer's journeys moved to a new version ("moved to version 3: 3 step(s) re-planned")."""
    enrollment_ids = [str(i) for i in session.scalars(select(Enrollment.id).where(
        Enrollment.customer_id == customer.id))]
    if not enrollment_ids:
        return []
    rows = session.scalars(select(AuditEntry).where(
        AuditEntry.entity_type == "enrollment", AuditEntry.action == "enrollment.moved",
        AuditEntry.entity_id.in_(enrollment_ids)).order_by(AuditEntry.at.desc()).limit(limit))
    return [Entry(at=a.at, kind="journey:moved", title=f"Journey {a.changes.get('journey', '')}",
                  detail=a.changes.get("summary", ""), extra={"version": a.changes.get("version")}) for a in rows]


def handed_touchpoints(session: Session, customer: Customer, limit: int) -> list[Entry]:
    """Journey steps handed out, skipped or cancelled (calls show as call attempts)."""
    rows = session.scalars(select(Touchpoint).where(Touchpoint.customer_id == customer.id,
                                                    Touchpoint.status.in_((HANDED, SKIPPED, CANCELLED)))
                           .options(joinedload(Touchpoint.step))
                           .order_by(Touchpoint.due_at.desc()).limit(limit))
    entries = []
    for tp in rows:
        at = tp.handed_at or tp.completed_at or tp.due_at
        verb = {"handed": "", "skipped": " skipped", "cancelled": " cancelled"}[tp.status]
        entries.append(Entry(at=at, kind=f"touchpoint:{tp.kind}", title=f"{tp.step.title}{verb}",
                             detail=tp.reason or ""))
    return entries
