"""Calls whose owner is away go to a colleague who is in (staff absences: retention/staff/absences.py).

Each hand-out (`handout.hand_out_all`, every tick) first covers the calls of people who are away: a call still
to be worked (scheduled, or open in the owner's list) that is due within `COVER_AHEAD`, or overdue, whose owner
is away on the day it is to be worked (the later of its due time and now, on the owner's calendar). That takes
in a journey call about to be handed out, a call waiting in the list of someone who went away, and a call a
person holds (a call-back the customer was promised, a snooze, a reschedule): its time stays as it was, so
the promise is kept at the promised time, by the colleague.

The colleague is chosen like a new customer's owner (planning.OwnerPicker, its own round-robin cursor
"cover"), among those in onboarding who are in that day AND whose working hours (their zone and calendar)
contain the time the call is to be worked: a speaker of the customer's language within their daily capacity
first, else anyone. When nobody in works at that time, a call whose time the system chose (`held_at` unset: a
planned journey call, a retry, a system-opened call) goes to whoever is in (speaker first, hours that meet the
customer's window first) and moves to the earliest moment inside both the customer's calling window and that
colleague's hours; a promised time (a call-back, snooze, reschedule, an ad-hoc call opened for a time) is kept
and given to whoever is in (the card says who promised it). When nobody is in, the call stays where it is. The call keeps the absent
owner in `covering_for_id` (the card and the timeline say "covering for ..."); the customer stays the absent
owner's. Coming back takes nothing back: the colleague keeps what they now hold (reassign to move it).
"""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from retention import i18n
from retention.audit.models import AuditEntry
from retention.audit.service import record
from retention.customers.timeline import Entry, isolate
from retention.journeys import calendar
from retention.journeys.models import OPEN, SCHEDULED, Touchpoint
from retention.journeys.planning import OwnerPicker, call_window, owner_window
from retention.staff import absences
from retention.staff.models import StaffUser

# A call due this soon is covered ahead, so the colleague sees it in their list before its time.
COVER_AHEAD = dt.timedelta(hours=24)
ACTOR = "system:absence"


class CoverPicker(OwnerPicker):
    """The owner picker for covering calls: its own turn, and only people who are in."""

    KEY = "cover"
    PRESENT_ONLY = True

    def pick_at_work(self, at: dt.datetime, language: str | None) -> StaffUser | None:
        """The next colleague in turn who is in on the day of `at` and whose working hours contain `at`."""
        if not self.loaded:
            self._load()
        everyone = self.owners
        for person in everyone:  # who is away that day is read for everyone, not only those at work then
            self.is_away(person, at)
        at_work = [o for o in everyone if calendar.in_window(at, owner_window(o))]
        if not at_work:
            return None
        self.owners = at_work
        try:
            return self.pick(at, language)
        finally:
            self.owners = everyone


def _away_on(spans, day: dt.date) -> bool:
    return any(start <= day <= end for start, end in spans)


def cover_absent_owners(session: Session, now: dt.datetime) -> int:
    """Give the calls of people away to colleagues who are in (committed); returns how many were covered.

    One query on the absences touching these days; when nobody is away, that is all it costs.
    """
    horizon = now + COVER_AHEAD
    # Every calendar's day from yesterday to the day after the horizon (zones run from UTC-12 to UTC+14).
    around = absences.absences_around(session, now.date() - dt.timedelta(days=1),
                                      horizon.date() + dt.timedelta(days=1))
    if not around:
        return 0
    calls = session.scalars(
        select(Touchpoint).where(Touchpoint.owner_id.in_(list(around)), Touchpoint.kind == "call",
                                 Touchpoint.status.in_((SCHEDULED, OPEN)), Touchpoint.due_at <= horizon)
        .options(joinedload(Touchpoint.owner), joinedload(Touchpoint.customer))
        .order_by(Touchpoint.due_at, Touchpoint.id)).all()
    picker = CoverPicker(session)
    covered = 0
    for tp in calls:
        owner = tp.owner
        work_at = max(tp.due_at, now)
        if not _away_on(around.get(owner.id, ()), work_at.astimezone(calendar.time_zone(owner.timezone)).date()):
            continue
        due = tp.due_at
        colleague = picker.pick_at_work(work_at, tp.customer.locale)
        if colleague is None:  # nobody in works at that time: whoever is in that day
            window = call_window(tp)
            colleague = picker.pick(work_at, tp.customer.locale, window=window, around=work_at)
            if colleague is None:  # nobody is in that day: the call stays with its owner
                continue
            if tp.held_at is None:  # the system's time: the first moment inside the customer's and their hours
                due = calendar.earliest_slot(work_at, [window, owner_window(colleague)]) or due
        absent_id = tp.covering_for_id or owner.id  # a cover of a cover still covers for the first owner
        if absent_id == colleague.id:
            absent_id = None  # the first owner is back and takes their own call
        done = session.execute(
            update(Touchpoint).where(Touchpoint.id == tp.id, Touchpoint.owner_id == owner.id,
                                     Touchpoint.status.in_((SCHEDULED, OPEN)))
            .values(owner_id=colleague.id, covering_for_id=absent_id, covered_at=now, due_at=due)
            .execution_options(synchronize_session=False)).rowcount
        if not done:  # another tick covered it first
            continue
        picker.count(colleague, due)
        record(session, actor=ACTOR, action="call.covered", entity_type="touchpoint", entity_id=tp.id, now=now,
               changes={"owner_id": colleague.id, "from_owner_id": owner.id, "covering_for_id": absent_id,
                        "due_at": due.isoformat(), "held": tp.held_at is not None,
                        "customer_id": tp.customer_id,
                        **({"moved_from": tp.due_at.isoformat()} if due != tp.due_at else {})})
        covered += 1
    picker.save()
    session.commit()
    return covered


def covered_calls(session: Session, customer, limit: int) -> list[Entry]:
    """"Sara Ahmadi covers the call for Ali Rezaei, who is away" (a promised time: "promised for ...")."""
    touchpoint_ids = [str(i) for i in session.scalars(select(Touchpoint.id).where(
        Touchpoint.customer_id == customer.id, Touchpoint.kind == "call"))]
    if not touchpoint_ids:
        return []
    rows = list(session.scalars(select(AuditEntry).where(
        AuditEntry.entity_type == "touchpoint", AuditEntry.action == "call.covered",
        AuditEntry.entity_id.in_(touchpoint_ids)).order_by(AuditEntry.at.desc()).limit(limit)))
    ids = {v for a in rows for v in (a.changes.get("owner_id"), a.changes.get("from_owner_id"),
                                     a.changes.get("covering_for_id")) if isinstance(v, int)}
    names = {u.id: u.display_name for u in session.scalars(select(StaffUser).where(StaffUser.id.in_(ids)))} \
        if ids else {}
    entries = []
    for a in rows:
        colleague = names.get(a.changes.get("owner_id"), "?")
        absent = names.get(a.changes.get("covering_for_id") or a.changes.get("from_owner_id"), "?")
        detail = []
        due = a.changes.get("due_at")
        if due:
            moment = dt.datetime.fromisoformat(due)
            detail.append(_("promised for %(when)s", when=i18n.when(moment)) if a.changes.get("held")
                          else _("due %(when)s", when=i18n.when(moment)))
        entries.append(Entry(at=a.at, kind="call:covered",
                             title=_("%(colleague)s covers a call for %(owner)s, who is away",
                                     colleague=isolate(colleague), owner=isolate(absent)),
                             detail=detail, extra={"covering_for": a.changes.get("covering_for_id")}))
    return entries
