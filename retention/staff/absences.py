"""Staff absences (holiday, sick): add, cancel, list, and who is away on a day.

Days are the staff member's own calendar days (their time zone), both ends included. While someone is away,
the owner picker gives them no new customer (journeys/planning.py OwnerPicker) and the calls due in their
absence go to a colleague who is in (journeys/cover.py). Coming back takes nothing back: work a colleague
now holds stays theirs.

Every function takes `now` where time matters and `actor` where it changes something (audited here).
The simulation and any script call these directly:

    add_absence(session, staff, starts_on=date, ends_on=date, note="", actor="staff:3", now=now) -> StaffAbsence
    cancel_absence(session, absence_id, actor=..., now=..., staff_id=None) -> StaffAbsence (deleted)
    list_absences(session, staff_id, since=None) -> [StaffAbsence]
    is_away(session, staff_id, day) -> bool;  away_on(session, staff_ids, day) -> set of ids
    away_now(session, people, now) -> set of ids away on their own today
"""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from retention.audit.service import record
from retention.errors import Conflict, N_, NotFound, ServiceError
from retention.formatting import local
from retention.staff.models import StaffAbsence, StaffUser

# An absence is at most this many days long (a year and a day: a leap year's holiday and sick leave).
MAX_DAYS = 366
# Days anyone may enter: far enough either way for any real absence; also what the API document states.
EARLIEST_DAY = dt.date(2000, 1, 1)
LATEST_DAY = dt.date(2099, 12, 31)
DAY_PATTERN = r"^20\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
MAX_NOTE = 500
MAX_LISTED = 500

_DAY = re.compile(DAY_PATTERN)


class AbsenceError(ServiceError):
    """An absence that cannot be entered or cancelled (422): the field and a message (retention/errors.py)."""


class AbsenceNotFound(AbsenceError, NotFound):
    """No such absence for this staff member (404)."""


class AbsenceConflict(AbsenceError, Conflict):
    """Fields that disagree with each other (end before start, too long) or another absence on those days (409)."""


def parse_day(field: str, value) -> dt.date:
    """A day from a form or a script: a date, or text YYYY-MM-DD; AbsenceError naming the field otherwise."""
    if isinstance(value, dt.datetime):
        raise AbsenceError(field, N_("Enter a day, not a time (YYYY-MM-DD)."))
    if isinstance(value, dt.date):
        day = value
    else:
        text = value.strip() if isinstance(value, str) else ""
        if not text:
            raise AbsenceError(field, N_("Enter a date."))
        if not text.isascii() or len(text) != 10 or not re.fullmatch(r"\d{4}-\d\d-\d\d", text):
            raise AbsenceError(field, N_("Enter a date as year-month-day, e.g. %(example)s."), example="2026-03-04")
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise AbsenceError(field, N_("There is no such day in the calendar.")) from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise AbsenceError(field, N_("Choose a day from %(first)s to %(last)s."), first=EARLIEST_DAY, last=LATEST_DAY)
    return day


def check_note(note) -> str:
    from retention.validation import bad_character

    if note is None:
        return ""
    if not isinstance(note, str):
        raise AbsenceError("note", N_("The note must be text."))
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise AbsenceError("note", N_("The note can be at most %(max)s characters long."), max=MAX_NOTE)
    if bad_character(note):
        raise AbsenceError("note", N_("The note must not contain control characters."))
    return note


def check_range(starts_on, ends_on) -> tuple[dt.date, dt.date]:
    """Both days, each in range, the end on or after the start, at most MAX_DAYS long."""
    starts_on, ends_on = parse_day("starts_on", starts_on), parse_day("ends_on", ends_on)
    if ends_on < starts_on:
        raise AbsenceConflict("ends_on", N_("The last day away is before the first (%(start)s)."), start=starts_on)
    if (ends_on - starts_on).days + 1 > MAX_DAYS:
        raise AbsenceConflict("ends_on", N_("An absence is at most %(max)s days long; enter a longer one in parts."),
                              max=MAX_DAYS)
    return starts_on, ends_on


def _overlapping(session: Session, staff_id: int, starts_on: dt.date, ends_on: dt.date) -> StaffAbsence | None:
    return session.scalar(select(StaffAbsence).where(
        StaffAbsence.staff_id == staff_id, StaffAbsence.starts_on <= ends_on, StaffAbsence.ends_on >= starts_on)
        .order_by(StaffAbsence.starts_on).limit(1))


def add_absence(session: Session, staff: StaffUser, *, starts_on, ends_on, note: str = "", actor: str,
                now: dt.datetime, created_by: StaffUser | None = None) -> StaffAbsence:
    """Enter days `staff` is away (audited). Refused, nothing changed: a bad or out-of-range day (422), the end
    before the start, longer than MAX_DAYS, or days overlapping another of their absences (409)."""
    starts_on, ends_on = check_range(starts_on, ends_on)
    note = check_note(note)
    clash = _overlapping(session, staff.id, starts_on, ends_on)
    if clash is not None:
        raise AbsenceConflict("starts_on", N_("These days overlap another absence, from %(start)s to %(end)s."),
                              start=clash.starts_on, end=clash.ends_on)
    absence = StaffAbsence(staff_id=staff.id, starts_on=starts_on, ends_on=ends_on, note=note,
                           created_by_id=created_by.id if created_by is not None else None, created_at=now)
    session.add(absence)
    session.flush()
    record(session, actor=actor, action="staff.absence_added", entity_type="staff", entity_id=staff.id, now=now,
           changes={"absence_id": absence.id, "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat(),
                    "note": note})
    return absence


def get_absence(session: Session, absence_id, staff_id: int | None = None) -> StaffAbsence:
    """The absence (of `staff_id`, when given); AbsenceNotFound otherwise."""
    absence = session.get(StaffAbsence, absence_id) \
        if isinstance(absence_id, int) and 0 < absence_id < 2**31 else None
    if absence is None or (staff_id is not None and absence.staff_id != staff_id):
        raise AbsenceNotFound("absence", N_("There is no such absence."))
    return absence


def cancel_absence(session: Session, absence_id: int, *, actor: str, now: dt.datetime,
                   staff_id: int | None = None) -> StaffAbsence:
    """Take an absence off (deleted; the audit entry keeps its days). Calls already covered stay covered."""
    absence = get_absence(session, absence_id, staff_id)
    record(session, actor=actor, action="staff.absence_cancelled", entity_type="staff", entity_id=absence.staff_id,
           now=now, changes={"absence_id": absence.id, "starts_on": absence.starts_on.isoformat(),
                             "ends_on": absence.ends_on.isoformat(), "note": absence.note})
    session.delete(absence)
    session.flush()
    return absence


def list_absences(session: Session, staff_id: int, *, since: dt.date | None = None) -> list[StaffAbsence]:
    """The person's absences ending on or after `since` (all when None), earliest first."""
    stmt = select(StaffAbsence).where(StaffAbsence.staff_id == staff_id).options(
        joinedload(StaffAbsence.created_by))
    if since is not None:
        stmt = stmt.where(StaffAbsence.ends_on >= since)
    return list(session.scalars(stmt.order_by(StaffAbsence.starts_on, StaffAbsence.id).limit(MAX_LISTED)))


def today_for(staff: StaffUser, now: dt.datetime) -> dt.date:
    """`now` as a day of the person's own calendar."""
    return local(now, staff.timezone or "UTC").date()


def is_away(session: Session, staff_id: int, day: dt.date) -> bool:
    """Whether the person is away on that day (of their own calendar)."""
    return bool(away_on(session, [staff_id], day))


def away_on(session: Session, staff_ids, day: dt.date) -> set[int]:
    """Which of these people are away on that day (one query)."""
    ids = list(set(staff_ids))
    if not ids:
        return set()
    away = set()
    for start in range(0, len(ids), 1000):
        away.update(session.scalars(select(StaffAbsence.staff_id).where(
            StaffAbsence.staff_id.in_(ids[start:start + 1000]), StaffAbsence.starts_on <= day,
            StaffAbsence.ends_on >= day)))
    return away


def absences_around(session: Session, first: dt.date, last: dt.date) -> dict[int, list[tuple[dt.date, dt.date]]]:
    """Everyone's absences touching the days first..last: staff id -> [(starts_on, ends_on)] (one query)."""
    found: dict[int, list[tuple[dt.date, dt.date]]] = {}
    for staff_id, starts, ends in session.execute(select(
            StaffAbsence.staff_id, StaffAbsence.starts_on, StaffAbsence.ends_on).where(
            StaffAbsence.ends_on >= first, StaffAbsence.starts_on <= last)):
        found.setdefault(staff_id, []).append((starts, ends))
    return found


def away_now(session: Session, people, now: dt.datetime) -> set[int]:
    """Which of these people are away today, each on their own calendar (one query)."""
    people = [p for p in people if p is not None]
    if not people:
        return set()
    days = {p.id: today_for(p, now) for p in people}
    around = absences_around(session, min(days.values()), max(days.values()))
    return {pid for pid, day in days.items() if any(s <= day <= e for s, e in around.get(pid, ()))}
