"""Planning a customer's journey: when each step is due, who owns the calls, enrollment, re-anchoring, exits.

Every function takes `now`; nothing here reads the clock.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import event, func, or_, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql import visitors
from sqlalchemy.sql.expression import TableClause

from retention import bulk
from retention.customers.models import Customer, Sale
from retention.journeys import calendar
from retention.journeys.models import (
    ACTIVE, CANCELLED, ENROLLED_LATE, EXITED, OPEN, PAUSED, PAUSED_TP, PENDING, SCHEDULED, SKIPPED,
    NO_HOURS, NO_ROOM, NO_SPEAKER, Enrollment, Journey, JourneyStep, RoundRobin, Touchpoint, late_reason,
)
from retention.staff import absences
from retention.staff.models import StaffUser, base_language

# A step due more than this long before the customer was enrolled is skipped, not sent late.
LATE_GRACE = dt.timedelta(hours=24)
# The flag (a planned call's reason) of a call whose owner's working hours never meet the customer's calling window,
# when nobody's do: planned in the customer's window, outside the owner's hours (journeys/wording.py says it).
OUTSIDE_OWNER_HOURS = "outside the owner's working hours: no one's hours meet the customer's"


PLANNER_KEY = "retention_touchpoint_planner"
# Execution option of a touchpoint statement that accounts for the rows a planner holds by itself.
COUNTS_PLANNED_ROWS = "retention_counts_planned_rows"


def is_held(tp: Touchpoint, now: dt.datetime) -> bool:
    """Work a person holds or was promised, or that is already due: automated re-plans keep it as it is.

    An open call (also one paused while open), a time a person set (call-back, snooze, reschedule),
    a call already tried, and anything due or overdue keep their row, time, owner and attempts.
    """
    return (tp.status == OPEN or tp.paused_from == OPEN or tp.held_at is not None or tp.attempts > 0
            or tp.due_at <= now)


def parse_hhmm(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


def customer_window(step: JourneyStep, customer: Customer) -> calendar.LocalWindow:
    """The step's local time window in the customer's zone and on their country's business days."""
    return calendar.LocalWindow(customer.timezone or "UTC", parse_hhmm(step.window_start),
                                parse_hhmm(step.window_end), customer.country, step.business_days)


# An ad-hoc call's window in the customer's zone (a journey step has its own); calls.service uses it too.
ADHOC_WINDOW = (dt.time(10, 0), dt.time(18, 0))


def call_window(tp: Touchpoint) -> calendar.LocalWindow:
    """A call's window in the customer's zone: its step's; an ad-hoc call's 10:00-18:00 on their business days."""
    if tp.step is not None:
        return customer_window(tp.step, tp.customer)
    return calendar.LocalWindow(tp.customer.timezone or "UTC", ADHOC_WINDOW[0], ADHOC_WINDOW[1],
                                tp.customer.country, True)


def owner_window(owner: StaffUser | None) -> calendar.LocalWindow | None:
    """The owner's working hours in their own zone and country."""
    if owner is None:
        return None
    return calendar.LocalWindow(owner.timezone or "UTC", parse_hhmm(owner.work_start), parse_hhmm(owner.work_end),
                                owner.country, True)


def plan_due(step: JourneyStep, customer: Customer, owner: StaffUser | None, anchor: dt.datetime) -> dt.datetime:
    """When a step is due: its day from the anchor, in the customer's window, and for calls the owner's hours."""
    window = customer_window(step, customer)
    due = calendar.due_at(anchor, step.day_offset, window)
    if step.kind == "call" and owner is not None:
        slot = calendar.earliest_slot(due, [window, owner_window(owner)])
        if slot is not None:  # no overlap within three weeks: keep the customer's own window
            due = slot
    return due


# --- Assigning owners --------------------------------------------------------------------------

@dataclass
class OwnerPicker:
    """Who gets a new customer: someone who speaks their language, round-robin, within daily call capacity.

    Round-robin runs among the active onboarding staff who speak the customer's language (one cursor per
    language, so each speaker gets their turn), within each person's daily call capacity on the day of the
    first call. When no speaker has room, or nobody speaks it, anyone with room is next in turn (the shared
    cursor) and the pick is flagged (`fallback`: NO_ROOM or NO_SPEAKER). When everyone is full, the least
    loaded speaker (or, without speakers, the least loaded person) gets the customer: nobody is left
    without a person, and the overload shows on the load chart. People away on the day of the first call
    (retention/staff/absences.py, their own calendar) are passed over; when everyone is away, everyone counts.

    Everything it needs is read once per batch (the people, the cursors, then one count per person and day,
    who is away once per day).
    """

    session: Session
    owners: list[StaffUser] = field(default_factory=list)
    last_id: int = 0
    cursors: dict[str, int] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)
    load: dict[tuple[int, dt.date], int] = field(default_factory=dict)
    loaded: bool = False
    fallback: str | None = None  # why the last pick does not speak the customer's language (None: it does)
    away: dict[dt.date, set[int]] = field(default_factory=dict)  # who is away on a day (read once per day)
    reach: dict[tuple, bool] = field(default_factory=dict)  # whether a person's hours meet a calling window

    KEY = "onboarding"
    # Whether a pick must be someone who is in: covering a call (journeys/cover.py) finds nobody rather than
    # someone else who is away; a new customer still gets an owner when everyone is away.
    PRESENT_ONLY = False

    def _load(self) -> None:
        self.owners = list(self.session.scalars(select(StaffUser).where(
            StaffUser.role == "onboarding", StaffUser.active.is_(True)).order_by(StaffUser.id)))
        self.cursors = dict(self.session.execute(select(RoundRobin.key, RoundRobin.last_staff_id).where(
            or_(RoundRobin.key == self.KEY, RoundRobin.key.like(self.KEY + ":%")))).all())
        self.last_id = self.cursors.get(self.KEY, 0)
        self.loaded = True

    def calls_on(self, owner: StaffUser, day: dt.date) -> int:
        """Calls already planned for the owner on that day of their own calendar."""
        key = (owner.id, day)
        if key not in self.load:
            zone = calendar.time_zone(owner.timezone)
            start = dt.datetime.combine(day, dt.time(0), zone).astimezone(dt.timezone.utc)
            end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone).astimezone(dt.timezone.utc)
            self.load[key] = self.session.scalar(
                select(func.count()).select_from(Touchpoint).where(
                    Touchpoint.owner_id == owner.id, Touchpoint.kind == "call",
                    Touchpoint.status.in_(PENDING),
                    Touchpoint.due_at >= start, Touchpoint.due_at < end)
                # The picker counts the calls it gives out itself, so rows planned in this batch need not
                # be inserted first (that would split the batch's one insert into many).
                .execution_options(**{COUNTS_PLANNED_ROWS: True})) or 0
        return self.load[key]

    def _in_turn(self, people: list[StaffUser], cursor: str) -> list[StaffUser]:
        """People in round-robin order: those after the cursor's last pick first."""
        last = self.cursors.get(cursor, 0)
        return sorted(people, key=lambda o: (o.id <= last, o.id))

    def _has_room(self, owner: StaffUser, first_call_at: dt.datetime) -> bool:
        day = first_call_at.astimezone(calendar.time_zone(owner.timezone)).date()
        return self.calls_on(owner, day) < owner.daily_call_capacity

    def is_away(self, owner: StaffUser, moment: dt.datetime) -> bool:
        """Whether the person is away on the day of `moment` in their own calendar (retention/staff/absences.py)."""
        day = moment.astimezone(calendar.time_zone(owner.timezone)).date()
        if day not in self.away:
            self.away[day] = absences.away_on(self.session, [o.id for o in self.owners], day)
        return owner.id in self.away[day]

    def _least_loaded(self, people: list[StaffUser], first_call_at: dt.datetime) -> StaffUser:
        return min(people, key=lambda o: (self.calls_on(
            o, first_call_at.astimezone(calendar.time_zone(o.timezone)).date()), o.id))

    def reaches(self, owner: StaffUser, window: calendar.LocalWindow, around: dt.datetime) -> bool:
        """Whether the person's working hours meet the customer's calling window at all (within a week of
        `around`): someone in Tehran cannot call a New Yorker between 10:00 and 18:00 their time."""
        key = (owner.id, window.tz, window.start, window.end, window.country, window.business_days)
        if key not in self.reach:
            self.reach[key] = calendar.earliest_slot(around, [window, owner_window(owner)], max_days=7) is not None
        return self.reach[key]

    def pick(self, first_call_at: dt.datetime | None, language: str | None = None, *,
             window: calendar.LocalWindow | None = None, around: dt.datetime | None = None) -> StaffUser | None:
        """The next owner in turn with room on the day of the first call, speaking `language` if anyone can.

        `window` (the customer's calling window of the first call, near `around`): people whose working hours
        never meet it are passed over while anyone else (a speaker first) can take the customer; otherwise
        every call would land outside the owner's hours. `fallback` tells afterwards whether (and why) the
        pick does not speak the language.
        """
        if not self.loaded:
            self._load()
        self.fallback = None
        # Nobody away on the day of the first call (their own calendar) is given anyone new.
        owners = self.owners if first_call_at is None else [o for o in self.owners
                                                            if not self.is_away(o, first_call_at)]
        if not owners and not self.PRESENT_ONLY:
            owners = self.owners  # everyone is away: the customer still gets a person (their calls are covered)
        if not owners:
            return None
        language = base_language(language) or None
        speakers = [o for o in owners if language is None or o.speaks(language)]
        hours_first = False  # a speaker was passed over only because their hours never meet the customer's
        if window is not None and (around or first_call_at) is not None:
            at = around or first_call_at
            reaching = [o for o in owners if self.reaches(o, window, at)]
            if reaching:  # hours first, then language: a call outside the owner's hours breaks the promise
                hours_first = bool(speakers) and not any(o in reaching for o in speakers)
                speakers = [o for o in speakers if o in reaching]
                owners = reaching
        lang_key = f"{self.KEY}:{language}" if language else self.KEY
        chosen = None
        if speakers:
            in_turn = self._in_turn(speakers, lang_key)
            if first_call_at is None:
                chosen = in_turn[0]
            else:
                chosen = next((o for o in in_turn if self._has_room(o, first_call_at)), None)
        if chosen is None:
            others = self._in_turn(owners, self.KEY)
            if first_call_at is None:
                chosen = others[0]
            else:
                chosen = next((o for o in others if self._has_room(o, first_call_at)), None)
            if chosen is None:  # everyone is full: a speaker still beats a stranger
                chosen = self._least_loaded(speakers or owners, first_call_at)
            if not chosen.speaks(language) and language is not None:
                self.fallback = NO_HOURS if hours_first else NO_ROOM if speakers else NO_SPEAKER
        # The shared turn always moves; the language's own turn only when one of its speakers was chosen.
        moved = [self.KEY] + ([lang_key] if language and chosen.speaks(language) else [])
        for key in moved:
            self.cursors[key] = chosen.id
            self.changed.add(key)
        self.last_id = chosen.id
        return chosen

    def count(self, owner: StaffUser, due: dt.datetime) -> None:
        """Remember a call just planned for the owner."""
        day = due.astimezone(calendar.time_zone(owner.timezone)).date()
        self.load[(owner.id, day)] = self.calls_on(owner, day) + 1

    def save(self) -> None:
        """Keep the cursors that moved (one row per language, and the shared one)."""
        if not self.loaded:
            return
        for key in sorted(self.changed):
            cursor = self.session.get(RoundRobin, key)
            if cursor is None:
                self.session.add(RoundRobin(key=key, last_staff_id=self.cursors[key]))
            else:
                cursor.last_staff_id = self.cursors[key]
        self.changed.clear()


# --- Enrollment --------------------------------------------------------------------------------

@dataclass
class Planner:
    """What one batch of events needs to enroll customers: current journeys, owners, running enrollments.

    With `bulk`, planned touchpoints are kept as rows and inserted together (`flush_touchpoints`), which
    is what lets a worker enroll a thousand customers a second. Any statement of the session that reads
    or changes touchpoints flushes them first (`_flush_before_touchpoint_statements`), so a handler never
    misses rows planned earlier in its batch, whether or not it remembers to flush.
    """

    session: Session
    journeys: list[Journey] | None = None
    picker: OwnerPicker | None = None
    bulk: bool = False
    pending_rows: list = field(default_factory=list)
    running: dict[str, set[str]] = field(default_factory=dict)
    due_cache: dict[tuple, dt.datetime] = field(default_factory=dict)
    outside_cache: dict[tuple, bool] = field(default_factory=dict)

    def __post_init__(self):
        if self.bulk:  # the session's one bulk planner: the one its touchpoint statements flush first
            self.session.info[PLANNER_KEY] = self

    def due(self, step: JourneyStep, customer: Customer, owner: StaffUser | None, anchor: dt.datetime) -> dt.datetime:
        """plan_due, remembered: customers in one zone and country sold on one day share their dates."""
        zone = customer.timezone or "UTC"
        key = (step.id, zone, customer.country, anchor.astimezone(calendar.time_zone(zone)).date(),
               owner.id if owner is not None else None)
        found = self.due_cache.get(key)
        if found is None:
            found = self.due_cache[key] = plan_due(step, customer, owner, anchor)
        return found

    def outside_hours(self, owner: StaffUser, due: dt.datetime) -> bool:
        """Whether a call due then falls outside the owner's working hours (remembered per owner and time)."""
        key = (owner.id, due)
        found = self.outside_cache.get(key)
        if found is None:
            found = self.outside_cache[key] = not calendar.in_window(due, owner_window(owner))
        return found

    def current_journeys(self, trigger: str) -> list[Journey]:
        if self.journeys is None:
            self.journeys = list(self.session.scalars(
                select(Journey).where(Journey.is_current.is_(True), Journey.active.is_(True))
                .options(selectinload(Journey.steps)).order_by(Journey.id)))
        return [j for j in self.journeys if j.trigger == trigger]

    def owners(self) -> OwnerPicker:
        if self.picker is None:
            self.picker = OwnerPicker(self.session)
        return self.picker

    def preload_running(self, customers) -> None:
        """Which journeys each of these customers is on now, in one query (keyed by the sender's id)."""
        by_id = {c.id: c.external_id for c in customers if c is not None and c.id is not None
                 and c.external_id not in self.running}
        for ref in by_id.values():
            self.running[ref] = set()
        ids = list(by_id)
        for start in range(0, len(ids), 1000):
            for cid, key in self.session.execute(
                    select(Enrollment.customer_id, Journey.key).join(Journey, Journey.id == Enrollment.journey_id)
                    .where(Enrollment.customer_id.in_(ids[start:start + 1000]),
                           Enrollment.status.in_((ACTIVE, PAUSED)))):
                self.running[by_id[cid]].add(key)

    def preload(self, lookups) -> None:
        """A batch of events loaded its customers: which journeys they are on, in one query."""
        self.preload_running(lookups.customers.values())

    def is_running(self, customer: Customer, key: str) -> bool:
        if customer.external_id not in self.running:
            if customer.id is None:  # new in this batch: on nothing yet
                self.running[customer.external_id] = set()
            else:
                with self.session.no_autoflush:
                    self.preload_running([customer])
        return key in self.running[customer.external_id]

    def mark_running(self, customer: Customer, key: str) -> None:
        self.running.setdefault(customer.external_id, set()).add(key)

    def add(self, enrollment: Enrollment, row: dict) -> Touchpoint | None:
        """Plan one touchpoint: a row kept for a bulk insert, or an ORM object."""
        if self.bulk:
            self.pending_rows.append((enrollment, row))
            return None
        tp = Touchpoint(enrollment=enrollment, customer=enrollment.customer, **row)
        self.session.add(tp)
        return tp

    def flush_touchpoints(self) -> int:
        """Insert the planned touchpoint rows (after their enrollments have ids)."""
        if not self.pending_rows:
            return 0
        # Taken off the list first: the insert below is itself a touchpoint statement.
        pending, self.pending_rows = self.pending_rows, []
        self.session.flush()
        rows = []
        for enrollment, row in pending:
            rows.append({**row, "enrollment_id": enrollment.id, "customer_id": enrollment.customer_id})
        # Every row has the same keys: one COPY on PostgreSQL, one executemany per chunk elsewhere
        # (the ORM bulk form would split the rows wherever a value is None).
        bulk.insert_rows(self.session, Touchpoint.__table__, rows)
        for enrollment in {id(e): e for e, _ in pending}.values():
            self.session.expire(enrollment, ["touchpoints"])
        return len(rows)

    def finish(self) -> None:
        self.flush_touchpoints()
        if self.picker is not None:
            self.picker.save()




def _touches_touchpoints(statement) -> bool:
    name = Touchpoint.__tablename__
    return any(isinstance(element, TableClause) and element.name == name  # also its annotated ORM copies
               for element in visitors.iterate(statement))


@event.listens_for(Session, "do_orm_execute")
def _flush_before_touchpoint_statements(state) -> None:
    """Rows a bulk planner still holds are inserted before any statement that reads or changes touchpoints.

    Cheap when nothing is held (one dictionary look-up); otherwise the statement is walked once.
    """
    planner = state.session.info.get(PLANNER_KEY)
    if planner is None or not planner.pending_rows or state.execution_options.get(COUNTS_PLANNED_ROWS):
        return
    if _touches_touchpoints(state.statement):
        planner.flush_touchpoints()


def enroll_on_sale(planner: Planner, sale: Sale, now: dt.datetime) -> list[Enrollment]:
    """Enroll the sale's customer in every current journey triggered by a sale.

    A second sale during a running journey does not restart it; a sale after it ended starts anew.
    """
    session = planner.session
    customer = sale.customer
    created = []
    for journey in planner.current_journeys("sale.completed"):
        if planner.is_running(customer, journey.key):
            continue
        anchor = sale.delivered_at if journey.anchor == "delivery" and sale.delivered_at else sale.sold_at
        enrollment = Enrollment(customer=customer, sale=sale, journey=journey, status=ACTIVE, anchor_at=anchor,
                                enrolled_at=now)
        session.add(enrollment)
        planner.mark_running(customer, journey.key)
        _plan_touchpoints(planner, enrollment, journey.steps, customer, anchor, now)
        created.append(enrollment)
    return created


def _plan_touchpoints(planner: Planner, enrollment: Enrollment, steps, customer: Customer,
                      anchor: dt.datetime, now: dt.datetime, only_future: bool = False) -> list[Touchpoint]:
    """One touchpoint per step; steps already past are skipped with the reason (late enrollment)."""
    with planner.session.no_autoflush:
        owner = customer.owner
        call_steps = [s for s in steps if s.kind == "call"]
        if owner is None and call_steps:
            first = planner.due(call_steps[0], customer, None, anchor)
            picker = planner.owners()
            owner = picker.pick(first if first >= now - LATE_GRACE else None, customer.locale,
                                window=customer_window(call_steps[0], customer), around=max(first, now))
            customer.owner = owner
            if owner is not None:  # who was chosen, and why they do not speak the customer's language if so
                enrollment.assigned_owner_id = owner.id
                enrollment.owner_fallback = picker.fallback
                enrollment.owner_language = base_language(customer.locale)[:10] if picker.fallback else None
        planned = []
        for step in steps:
            due = planner.due(step, customer, owner, anchor)
            late = due < now - LATE_GRACE
            if only_future and due <= now:
                continue
            is_call = step.kind == "call"
            # nobody's hours meet the customer's (plan_due kept their window): the call says so on its card
            outside = is_call and owner is not None and not late and planner.outside_hours(owner, due)
            tp = planner.add(enrollment, {
                "step_id": step.id, "kind": step.kind, "due_at": due, "status": SKIPPED if late else SCHEDULED,
                "owner_id": owner.id if is_call and owner is not None else None, "attempts": 0,
                "reason": late_reason(due) if late else OUTSIDE_OWNER_HOURS if outside else None,
                "reason_code": ENROLLED_LATE if late else None})
            if tp is not None:
                planned.append(tp)
            if is_call and owner is not None and not late:
                planner.owners().count(owner, due)
        return planned


def reanchor_on_delivery(session: Session, sale: Sale, delivered_at: dt.datetime, now: dt.datetime) -> int:
    """Move the planned steps of journeys counted from delivery; returns how many moved."""
    sale.delivered_at = delivered_at
    moved = 0
    enrollments = session.scalars(select(Enrollment).join(Journey).where(
        Enrollment.sale_id == sale.id, Journey.anchor == "delivery",
        Enrollment.status.in_((ACTIVE, PAUSED)))).all()
    for enrollment in enrollments:
        enrollment.anchor_at = delivered_at
        customer = enrollment.customer
        waiting = PAUSED_TP if enrollment.status == PAUSED else SCHEDULED
        for tp in enrollment.touchpoints:
            skipped_late = tp.status == SKIPPED and tp.reason_code == ENROLLED_LATE
            if tp.status not in (SCHEDULED, PAUSED_TP) and not skipped_late:
                continue  # done, handed out, or skipped for another reason: history stays
            if not skipped_late and is_held(tp, now):
                continue  # due, open or held by a person: keeps its time
            due = plan_due(tp.step, customer, tp.owner, delivered_at)
            if due < now - LATE_GRACE:
                tp.status, tp.reason, tp.reason_code = SKIPPED, late_reason(due), ENROLLED_LATE
            elif skipped_late:  # a later delivery brings a step back into the future
                tp.status, tp.reason, tp.reason_code = waiting, None, None
            tp.due_at = due
            moved += 1
    return moved


def exit_journeys(session: Session, *, event_type: str, now: dt.datetime, sale: Sale | None = None,
                  customer: Customer | None = None, reason: str = "") -> int:
    """End the running enrollments whose journey exits on this event; cancel what is planned.

    History (done, handed, skipped touchpoints) stays as it was, and so does work a person holds: an
    open call, a call already tried or whose time a person set stays with its owner for an outcome.
    """
    stmt = select(Enrollment).join(Journey).where(Enrollment.status.in_((ACTIVE, PAUSED)))
    if sale is not None:
        stmt = stmt.where(Enrollment.sale_id == sale.id)
    if customer is not None:
        stmt = stmt.where(Enrollment.customer_id == customer.id)
    ended = 0
    for enrollment in session.scalars(stmt).all():
        if event_type not in (enrollment.journey.exit_events or []):
            continue
        enrollment.status, enrollment.ended_at = EXITED, now
        enrollment.exit_reason = f"{event_type}: {reason}" if reason else event_type
        session.execute(update(Touchpoint).where(
            Touchpoint.enrollment_id == enrollment.id, Touchpoint.status.in_((SCHEDULED, PAUSED_TP)),
            or_(Touchpoint.paused_from.is_(None), Touchpoint.paused_from != OPEN),
            Touchpoint.held_at.is_(None), Touchpoint.attempts == 0).values(
            status=CANCELLED, reason=f"journey exited ({event_type})", completed_at=now)
            .execution_options(synchronize_session=False))
        # held work of a paused enrollment goes back to its owner's list (the journey cannot be resumed now)
        session.execute(update(Touchpoint).where(Touchpoint.enrollment_id == enrollment.id,
                                                 Touchpoint.status == PAUSED_TP)
                        .values(status=func.coalesce(Touchpoint.paused_from, SCHEDULED), paused_from=None)
                        .execution_options(synchronize_session=False))
        ended += 1
    return ended
