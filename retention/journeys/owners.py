"""Who got a new customer, and whether they speak the customer's language (issue 9, item 6).

The choice itself is made by the batch planner (planning.OwnerPicker) and kept on the enrollment
(`assigned_owner_id`, `owner_fallback`, `owner_language`); here: its line on the customer's timeline and
its count on the load report.
"""
from __future__ import annotations

from babel import Locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retention import i18n
from retention.customers.models import Customer
from retention.customers.timeline import Entry, isolate
from retention.journeys.models import ACTIVE, NO_HOURS, NO_ROOM, NO_SPEAKER, OWNER_FALLBACKS, PAUSED, Enrollment
from retention.staff.models import StaffUser


def language_name(code: str | None, viewer: str | None = None) -> str:
    """A language's name in the reader's language ("Persian", "الفارسية", "فارسی"); the code when unknown."""
    try:
        return Locale.parse(viewer or i18n.ui_language()).languages.get(code or "") or (code or "")
    except (ValueError, TypeError):
        return code or ""


def fallback_reason(fallback: str | None, name: str, language: str | None) -> str:
    """The sentence saying why someone who does not speak the customer's language got them ("" if they do)."""
    if fallback == NO_ROOM:
        return _("%(name)s does not speak %(language)s: no %(language)s speaker had room that day.",
                 name=isolate(name), language=language_name(language))
    if fallback == NO_HOURS:
        return _("%(name)s does not speak %(language)s: no %(language)s speaker works at hours the customer can "
                 "be called.", name=isolate(name), language=language_name(language))
    if fallback == NO_SPEAKER:
        return _("%(name)s does not speak %(language)s: nobody in onboarding speaks it.",
                 name=isolate(name), language=language_name(language))
    return ""


def owner_assignments(session: Session, customer: Customer, limit: int) -> list[Entry]:
    """"Assigned to Sara Ahmadi" when an enrollment chose the customer's owner; flagged when the owner
    does not speak the customer's language."""
    rows = session.execute(
        select(Enrollment.enrolled_at, Enrollment.owner_fallback, Enrollment.owner_language, StaffUser.name,
               StaffUser.email)
        .join(StaffUser, StaffUser.id == Enrollment.assigned_owner_id)
        .where(Enrollment.customer_id == customer.id).order_by(Enrollment.enrolled_at.desc()).limit(limit)).all()
    entries = []
    for at, fallback, language, name, email in rows:
        name = name or email
        entries.append(Entry(at=at, kind="journey:owner", title=_("Assigned to %(name)s", name=isolate(name)),
                             detail=fallback_reason(fallback, name, language),
                             extra={"fallback": fallback, "language": language}))
    return entries


def fallbacks_by_owner(session: Session, owner_ids) -> dict[int, int]:
    """Customers on a running journey whose owner was given them without speaking their language, per owner
    (the load report; one query on ix_enrollments_owner_fallback)."""
    ids = list(owner_ids)
    if not ids:
        return {}
    return dict(session.execute(
        select(Enrollment.assigned_owner_id, func.count())
        .where(Enrollment.owner_fallback.in_(OWNER_FALLBACKS), Enrollment.assigned_owner_id.in_(ids),
               Enrollment.status.in_((ACTIVE, PAUSED)))
        .group_by(Enrollment.assigned_owner_id)).all())
