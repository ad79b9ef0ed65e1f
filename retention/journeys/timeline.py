"""Timeline entries from journeys: steps handed out, skipped or cancelled; one line per move to a new version."""
from __future__ import annotations

from flask_babel import gettext as _, ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from retention import i18n
from retention.audit.models import AuditEntry
from retention.customers.models import Customer
from retention.customers.timeline import Entry, isolate
from retention.journeys import wording
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
    return [Entry(at=a.at, kind="journey:moved",
                  title=_("Journey moved to version %(version)s", version=i18n.number(a.changes.get("version") or 0)),
                  detail=_move_words(a.changes), extra={"version": a.changes.get("version")}) for a in rows]


def _move_words(changes: dict) -> list[str]:
    """"3 steps re-planned", "1 added"... from the counts the move recorded, in the reader's words."""
    def count(name: str) -> int:
        value = changes.get(name)
        return value if isinstance(value, int) else 0

    words = [ngettext("%(count)s step re-planned", "%(count)s steps re-planned", count("replanned"),
                      count=i18n.number(count("replanned")))]
    if count("kept"):
        words.append(ngettext("%(count)s kept as it was", "%(count)s kept as they were", count("kept"),
                              count=i18n.number(count("kept"))))
    if count("added"):
        words.append(ngettext("%(count)s added", "%(count)s added", count("added"), count=i18n.number(count("added"))))
    if count("removed"):
        words.append(ngettext("%(count)s removed", "%(count)s removed", count("removed"),
                              count=i18n.number(count("removed"))))
    if count("skipped"):
        words.append(ngettext("%(count)s skipped (already past)", "%(count)s skipped (already past)", count("skipped"),
                              count=i18n.number(count("skipped"))))
    return words


def handed_touchpoints(session: Session, customer: Customer, limit: int) -> list[Entry]:
    """Journey steps handed out, skipped or cancelled (calls show as call attempts)."""
    rows = session.scalars(select(Touchpoint).where(Touchpoint.customer_id == customer.id,
                                                    Touchpoint.status.in_((HANDED, SKIPPED, CANCELLED)),
                                                    Touchpoint.step_id.is_not(None))  # ad-hoc calls: calls/timeline.py
                           .options(joinedload(Touchpoint.step))
                           .order_by(Touchpoint.due_at.desc()).limit(limit))
    entries = []
    for tp in rows:
        at = tp.handed_at or tp.completed_at or tp.due_at
        step = isolate(wording.title(tp.step.title))
        title = {"handed": _("%(step)s: handed out", step=step), "skipped": _("%(step)s: skipped", step=step),
                 "cancelled": _("%(step)s: cancelled", step=step)}[tp.status]
        entries.append(Entry(at=at, kind=f"touchpoint:{tp.kind}", title=title,
                             detail=[wording.reason_words(tp.reason, tp.reason_code, when=i18n.when,
                                                          number=i18n.number)] if tp.reason else []))
    return entries
