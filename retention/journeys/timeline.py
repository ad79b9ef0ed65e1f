"""Timeline entries from journeys: one line per move of the customer's journey to a new version."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from retention.audit.models import AuditEntry
from retention.customers.timeline import Entry
from retention.journeys.models import Enrollment


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
