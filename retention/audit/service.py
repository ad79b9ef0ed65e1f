"""Writing to the audit log."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from retention.audit.models import AuditEntry


def record(session: Session, *, actor: str, action: str, entity_type: str, entity_id, now: dt.datetime,
           changes: dict | None = None) -> AuditEntry:
    """Add an audit entry to the session; it commits with the change it describes."""
    entry = AuditEntry(at=now, actor=actor, action=action, entity_type=entity_type,
                       entity_id=str(entity_id), changes=changes or {})
    session.add(entry)
    return entry


def actor_of(user) -> str:
    """The audit name of a signed-in staff member (or 'anonymous')."""
    return f"staff:{user.id}" if user is not None and getattr(user, "id", None) else "anonymous"
