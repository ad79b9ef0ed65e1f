"""Escalation: a case that missed a target is marked, its owner and the admins are told, and it can be taken over.

The tick runs `escalate_breaches`. Each case is escalated at most once per missed target: the mark is the state
change `UPDATE complaints SET escalated_at = now WHERE id = .. AND (escalated_at IS NULL OR escalated_at < due)`,
so a second tick (or a second machine) finds nothing to do, while a later target (the solution after a late first
response, a reopened case's new solution, a taken-over case's restarted targets) can breach again. Each person
told gets an in-app notice (ComplaintNotice: My calls and the queue) and an email in their own language.
"""
from __future__ import annotations

import datetime as dt

from flask_babel import force_locale, gettext as _
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from retention import formatting
from retention.complaints import service, sla
from retention.complaints.models import Complaint, ComplaintNotice
from retention.errors import N_
from retention.staff.models import StaffUser

BATCH = 500


def _recipients(session: Session, case: Complaint) -> list[StaffUser]:
    """The owner (when active) and every active admin, once each."""
    people = {} if case.owner is None or not case.owner.active else {case.owner.id: case.owner}
    for admin in session.scalars(select(StaffUser).where(StaffUser.role == "admin", StaffUser.active.is_(True))
                                 .order_by(StaffUser.id)):
        people.setdefault(admin.id, admin)
    return list(people.values())


def _email(session: Session, person: StaffUser, case: Complaint, target: str, due: dt.datetime,
           now: dt.datetime) -> None:
    """The notice by email too, in the person's language (nothing when mail cannot take it)."""
    from retention.mail.service import MailError, public_url, queue_staff_email

    language = formatting.language_of(person.locale)
    with force_locale(language):
        what = _("the first response") if target == sla.FIRST_RESPONSE else _("the solution")
        subject = _("Complaint case %(id)s missed its target", id=case.id)
        text = _("Complaint case %(id)s (%(customer)s) missed its target: %(target)s was due %(due)s. "
                 "It shows on the complaint queue, where a colleague can take it over: %(url)s",
                 id=case.id, customer=case.customer.name, target=what,
                 due=formatting.format_moment(due, language, formatting.digits_for(language, person.digits),
                                              person.timezone or "UTC", "short"),
                 url=public_url("/complaints/queue"))
    try:
        queue_staff_email(session, person, kind="complaint_breach", subject=subject, text=text, now=now,
                          ref=f"complaint-breach:{case.id}:{person.id}:{now.isoformat()}"[:120])
    except MailError:
        pass  # no usable address: the in-app notice still tells them


def escalate(session: Session, case: Complaint, now: dt.datetime) -> bool:
    """Escalate one case if it has a missed target not escalated yet; False when there is nothing (or it was done)."""
    found = sla.breach(case, now)
    if found is None:
        return False
    target, due = found
    marked = session.execute(
        update(Complaint).where(Complaint.id == case.id, Complaint.status.in_(sla.SOLVING),
                                or_(Complaint.escalated_at.is_(None), Complaint.escalated_at < due))
        .values(escalated_at=now).execution_options(synchronize_session=False))
    if marked.rowcount != 1:
        return False
    case.escalated_at = now
    people = _recipients(session, case)
    service.change(session, case, action="escalated", now=now, actor="system",
                   audit={"target": target, "due": due.isoformat(), "told": [p.email for p in people]})
    for person in people:
        session.add(ComplaintNotice(case_id=case.id, staff_id=person.id, kind="breach", target=target, at=now))
        _email(session, person, case, target, due, now)
    return True


def escalate_breaches(session: Session, now: dt.datetime, limit: int = BATCH) -> int:
    """The tick's step: escalate every case with a missed target not yet escalated (a bounded batch); the caller
    commits. Returns how many were escalated."""
    cases = session.scalars(select(Complaint).where(sla.breached_filter(now)).order_by(Complaint.id)
                            .limit(limit)).all()
    return sum(1 for case in cases if escalate(session, case, now))


class TakeOverRefused(service.CaseConflict):
    """The case cannot be taken over now (409)."""


def take_over(session: Session, case: Complaint, staff: StaffUser, *, now: dt.datetime, actor: str) -> Complaint:
    """`staff` takes a case that missed a target: assigned to them (audited, on the timeline), targets restart on
    their calendar, the case's notices are marked seen. Refused (409) when nothing was missed or it is theirs."""
    service.check_owner(staff)
    if sla.breach(case, now) is None:
        raise TakeOverRefused("owner_id", N_("Only a case that missed a target can be taken over; "
                                             "ask an admin to reassign it."))
    if case.owner_id == staff.id:
        raise TakeOverRefused("owner_id", N_("This case is already yours."))
    service.assign(session, case, staff, now=now, actor=actor, note="take-over after a missed target")
    session.execute(update(ComplaintNotice).where(ComplaintNotice.case_id == case.id,
                                                  ComplaintNotice.seen_at.is_(None))
                    .values(seen_at=now).execution_options(synchronize_session=False))
    return case


def unseen_notices(session: Session, staff_id: int, limit: int = 20) -> list[ComplaintNotice]:
    """The person's notices not marked seen, newest first."""
    return session.scalars(select(ComplaintNotice).where(ComplaintNotice.staff_id == staff_id,
                                                         ComplaintNotice.seen_at.is_(None))
                           .order_by(ComplaintNotice.at.desc(), ComplaintNotice.id.desc()).limit(limit)).all()


class NoticeNotFound(service.CaseNotFound):
    """No such notice for this person (404)."""


def mark_seen(session: Session, notice_id: int, staff_id: int, now: dt.datetime) -> None:
    """Mark one of the person's own notices seen (another person's is 404: it is not theirs to dismiss)."""
    notice = session.get(ComplaintNotice, notice_id)
    if notice is None or notice.staff_id != staff_id:
        raise NoticeNotFound("notice", N_("No such notice."))
    if notice.seen_at is None:
        notice.seen_at = now
