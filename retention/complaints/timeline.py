"""Complaint case changes on the customer's timeline and on the case page, in the reader's words.

One line per CaseChange: opened (category, channel, severity; the summary is private text), each status move,
reopen, a new owner, intake answers; other modules' actions take their title from labels.ACTION_LABELS
(add one there), else a general one. Who made the change is named when it was a person.
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from retention.complaints import categories
from retention.complaints.labels import (
    ACTION_LABELS, CHANNEL_LABELS, SEVERITY_LABELS, SOURCE_LABELS, STATUS_LABELS, label)
from retention.complaints.models import CaseChange, Complaint
from retention.customers.models import Customer
from retention.customers.timeline import Entry
from retention.staff.models import StaffUser


def _people(session: Session, changes: list[CaseChange]) -> dict[str, str]:
    ids = {int(c.actor.split(":", 1)[1]) for c in changes
           if c.actor.startswith("staff:") and c.actor.split(":", 1)[1].isdigit()}
    if not ids:
        return {}
    return {f"staff:{u.id}": u.display_name
            for u in session.scalars(select(StaffUser).where(StaffUser.id.in_(ids)))}


def _title(change: CaseChange) -> str:
    if change.action == "status":
        return _("Complaint case: %(status)s", status=label(STATUS_LABELS, change.to_status))
    found = ACTION_LABELS.get(change.action)
    if found is not None:
        return str(found)
    if change.to_status:
        return _("Complaint case: %(status)s", status=label(STATUS_LABELS, change.to_status))
    return _("Complaint case changed")


def _entries(session: Session, changes: list[CaseChange], language: str) -> list[Entry]:
    people = _people(session, changes)
    names = {c.key: categories.name_of(c, language) for c in categories.all_categories(session)}
    entries = []
    for change in changes:
        case = change.case
        detail: list[str] = []
        private = change.note or ""
        if change.action == "opened":
            detail = [categories.case_category_name(names, case, SOURCE_LABELS), label(CHANNEL_LABELS, case.channel),
                      label(SEVERITY_LABELS, case.severity)]
            private = case.summary
        elif change.action == "owner":
            detail, private = [change.note or ""], ""
        if change.actor in people:
            detail.append(people[change.actor])
        entries.append(Entry(at=change.at, kind=f"complaint:{change.action}", title=_title(change),
                             detail=[d for d in detail if d], private=private,
                             extra={"case_id": case.id, "actor": change.actor}))
    return entries


def case_changes(session: Session, customer: Customer, limit: int) -> list[Entry]:
    """The customer's timeline: every change of every case of theirs (newest first)."""
    from retention import i18n

    changes = session.scalars(select(CaseChange).join(Complaint, CaseChange.case_id == Complaint.id)
                              .where(Complaint.customer_id == customer.id)
                              .order_by(CaseChange.at.desc(), CaseChange.id.desc()).limit(limit)).all()
    return _entries(session, list(changes), i18n.ui_language())


def case_entries(session: Session, case: Complaint, limit: int = 200) -> list[Entry]:
    """The case page's history, oldest first."""
    from retention import i18n

    changes = session.scalars(select(CaseChange).where(CaseChange.case_id == case.id)
                              .order_by(CaseChange.at, CaseChange.id).limit(limit)).all()
    return _entries(session, list(changes), i18n.ui_language())
