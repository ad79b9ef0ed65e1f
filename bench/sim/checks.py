"""The simulation's checks: each promise of the product as queries over the database after a run.

`run_all(session, facts)` returns one `CheckResult(name, violations, examples)` per promise; 0 violations = the
promise was kept. Everything is derived from the database (touchpoints, surveys, offers, letters, outbound emails,
calls, complaints and their changes, the audit log, inbound events), so the checks run on any database, not only
after a simulation. The product's rules are read from DESIGN.md and the code's documented rules, not re-derived
from the code under test.

`facts` (a plain dict; every key optional) holds what only the driver knows:
- "now": the simulated end of the run (aware datetime). Default: the app clock (retention.clock.now()).
- "grace": timedelta a due thing may wait for the next tick before it counts as left behind (default 1 hour);
  also how late an escalation may come after a missed target and how long a one-click score may settle.
- "held_before_edit": touchpoint ids of calls a person held (snoozed, rescheduled, promised call-back) when a
  journey was edited: a list/set of ids, or {id: due_at the person set (datetime) or None}. The check also
  finds such calls itself from the audit log and call attempts, so this only adds to them.
- "absences": {staff_id: [(first_day, last_day), ...]} (dates in the person's own zone, inclusive) when staff
  absences are not in the database (a `staff_absences` table with staff_id, starts_on, ends_on is read when it
  exists).
- "survey_cooldown_days": default the app's SURVEY_COOLDOWN_DAYS (30 outside an app).
- "detractor_sources": which NPS answers owe a recovery call: ("survey", "event") by default, i.e. answers given
  to our own survey and answers other systems send (`nps.response`: followed up alike when at most
  EVENT_FOLLOW_UP_WITHIN old on arrival, older ones only feed the facts; see docs/architecture.md).
- "seed": printed by the driver; not read here.

What counts as a contact and when (the moment the app decided it): a call when it reaches an owner's list
(`handed_at`) and each call made (`call_attempts.at`); an email when the server took it (`sent_at`); a letter when
queued (`created_at`) and when printed (`printed_at`); a survey when sent (`sent_at`: email queued or letter
queued); a referral offer when made (`created_at`).

A complaint is open from when the app knew of it (its `opened` change; for a helpdesk event, not before the
event was processed) until a change to `closed`, and again from a reopening; a pending verification call
(`complaint_verification`, from its hand-out until it ended) counts as open too.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from retention.audit.models import AuditEntry
from retention.calls.models import CallAttempt
from retention.complaints.models import CLOSED, OPEN_STATUSES, CaseChange, Complaint
from retention.customers.models import Customer, Sale
from retention.hooks.models import InboundEvent
from retention.journeys import calendar
from retention.journeys.models import (
    CLAIMING, EXITED, HANDED, OPEN, PENDING, SCHEDULED, Enrollment, JourneyStep, Touchpoint,
)
from retention.mail.models import SENT as EMAIL_SENT, CustomerOptOut, OutboundEmail
from retention.postal.models import CANCELLED as LETTER_CANCELLED, Letter
from retention.referrals import programs as program_rules, rewards
from retention.referrals.models import (
    COUNTED, EARNED, MADE, REVERSED, LedgerEntry, Referral, ReferralOffer, ReferralProgram,
)
from retention.staff.models import StaffUser
from retention.surveys.models import NpsAnswer, Survey

UTC = dt.timezone.utc
EXAMPLES = 5
DEFAULT_GRACE = dt.timedelta(hours=1)
# The exits that end a customer's journey (DESIGN 4: refund exits that sale's journeys, churn all of them).
STOPPING_EXITS = ("sale.refunded", "customer.churned")
# Ad-hoc calls the system opens (their time is the system's); the others are opened by a person for a time they chose.
SYSTEM_PURPOSES = ("recovery", "nps_passive", "complaint_verification", "fix_address")
# Calls' customer hours when no journey step says otherwise (calls.service.ADHOC_WINDOW).
ADHOC_HOURS = (dt.time(10, 0), dt.time(18, 0))
# An NPS answer another system sends is followed up only when at most this old on arrival (surveys/service.py:
# a recovery call weeks later is no longer a recovery call; older answers feed the facts).
EVENT_FOLLOW_UP_WITHIN = dt.timedelta(days=7)
# Work rows written for a handed touchpoint, by kind.
WORK_KINDS = ("nps_survey", "letter", "referral_offer", "email")


@dataclass
class CheckResult:
    name: str
    violations: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, example: str) -> None:
        self.violations += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(example)


# --- time spans ---------------------------------------------------------------------------------------------------

Spans = dict  # key -> list[(start, end | None)]


def _inside(spans: list, at: dt.datetime | None) -> bool:
    return at is not None and any(start <= at and (end is None or at < end) for start, end in spans)


def _fmt(at: dt.datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if at is not None else "-"


def _now(facts: dict) -> dt.datetime:
    if facts.get("now") is not None:
        return facts["now"]
    from retention.clock import now

    return now()


def _grace(facts: dict) -> dt.timedelta:
    return facts.get("grace") or DEFAULT_GRACE


class Context:
    """What several checks read, loaded once."""

    def __init__(self, session: Session, facts: dict):
        self.session, self.facts = session, facts
        self.now, self.grace = _now(facts), _grace(facts)
        self._complaints: Spans | None = None
        self._optouts: Spans | None = None
        self._customers: dict | None = None
        self._staff: dict | None = None
        self._absences: dict | None = None

    # customers and staff, by id
    @property
    def customers(self) -> dict[int, Customer]:
        if self._customers is None:
            self._customers = {c.id: c for c in self.session.scalars(select(Customer))}
        return self._customers

    @property
    def staff(self) -> dict[int, StaffUser]:
        if self._staff is None:
            self._staff = {s.id: s for s in self.session.scalars(select(StaffUser))}
        return self._staff

    def complaint_spans(self) -> Spans:
        """{customer_id: [(from, until)]}: while a case of theirs was open (or its verification pending)."""
        if self._complaints is not None:
            return self._complaints
        session = self.session
        known: dict[str, dt.datetime] = {}  # helpdesk complaint id -> when the app processed its event
        for data, processed in session.execute(select(InboundEvent.data, InboundEvent.processed_at)
                                               .where(InboundEvent.type == "complaint.opened",
                                                      InboundEvent.processed_at.is_not(None))):
            ref = (data or {}).get("complaint_id")
            if ref is not None:
                known[str(ref)] = min(processed, known.get(str(ref), processed))
        cases = {c.id: c for c in session.scalars(select(Complaint))}
        spans: Spans = defaultdict(list)
        changes = defaultdict(list)
        for change in session.scalars(select(CaseChange).where(CaseChange.to_status.is_not(None))
                                      .order_by(CaseChange.at, CaseChange.id)):
            changes[change.case_id].append(change)
        for case_id, rows in changes.items():
            case = cases[case_id]
            start = None
            for row in rows:
                at = row.at
                if row.action == "opened" and case.source == "event" and case.external_id in known:
                    at = max(at, known[case.external_id])
                if row.to_status in OPEN_STATUSES and start is None:
                    start = at
                elif row.to_status == CLOSED and start is not None:
                    spans[case.customer_id].append((start, max(row.at, start)))
                    start = None
            if start is not None:
                spans[case.customer_id].append((start, None))
        for cid, handed, completed in session.execute(
                select(Touchpoint.customer_id, Touchpoint.handed_at, Touchpoint.completed_at)
                .where(Touchpoint.purpose == "complaint_verification", Touchpoint.handed_at.is_not(None))):
            spans[cid].append((handed, completed))
        self._complaints = spans
        return spans

    def optout_spans(self) -> Spans:
        """{(customer_id, channel): [(from, until)]}: while the customer was opted out of the channel (the audit log
        keeps opt-ins, which delete the row; the current rows are added for opt-outs recorded without an entry)."""
        if self._optouts is not None:
            return self._optouts
        events = defaultdict(list)
        for entry in self.session.scalars(select(AuditEntry).where(
                AuditEntry.action.in_(("customer.opted_out", "customer.opted_in")))
                .order_by(AuditEntry.at, AuditEntry.id)):
            channel = (entry.changes or {}).get("channel")
            if channel and str(entry.entity_id).isdigit():
                events[(int(entry.entity_id), channel)].append((entry.at, entry.action == "customer.opted_out"))
        spans: Spans = defaultdict(list)
        for key, rows in events.items():
            start = None
            for at, out in rows:
                if out and start is None:
                    start = at
                elif not out and start is not None:
                    spans[key].append((start, at))
                    start = None
            if start is not None:
                spans[key].append((start, None))
        for row in self.session.scalars(select(CustomerOptOut)):
            key = (row.customer_id, row.channel)
            if not _inside(spans[key], row.at):
                spans[key].append((row.at, None))
        self._optouts = spans
        return spans

    def absences(self) -> dict[int, list[tuple[dt.date, dt.date]]]:
        if self._absences is not None:
            return self._absences
        found: dict[int, list] = defaultdict(list)
        for staff_id, days in (self.facts.get("absences") or {}).items():
            found[int(staff_id)].extend((a, b) for a, b in days)
        bind = self.session.get_bind()
        if inspect(bind).has_table("staff_absences"):
            columns = {c["name"] for c in inspect(bind).get_columns("staff_absences")}
            where = " WHERE cancelled_at IS NULL" if "cancelled_at" in columns else ""
            for staff_id, first, last in self.session.execute(
                    text(f"SELECT staff_id, starts_on, ends_on FROM staff_absences{where}")):
                found[staff_id].append((_date(first), _date(last)))
        self._absences = found
        return found

    def away(self, staff: StaffUser | None, at: dt.datetime) -> bool:
        if staff is None:
            return False
        days = self.absences().get(staff.id)
        if not days:
            return False
        local = at.astimezone(calendar.time_zone(staff.timezone)).date()
        return any(first <= local <= last for first, last in days)


def _date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _hhmm(value: str) -> dt.time:
    hours, minutes = str(value).split(":")[:2]
    return dt.time(int(hours), int(minutes))


def _window(tz: str | None, start: dt.time, end: dt.time, country: str | None, business_days: bool):
    return calendar.LocalWindow(tz or "UTC", start, end, country, business_days)


def _owner_window(person: StaffUser):
    return _window(person.timezone, _hhmm(person.work_start), _hhmm(person.work_end), person.country, True)


def _customer_window(customer: Customer, step: JourneyStep | None):
    if step is not None:
        return _window(customer.timezone, _hhmm(step.window_start), _hhmm(step.window_end), customer.country,
                       step.business_days)
    return _window(customer.timezone, ADHOC_HOURS[0], ADHOC_HOURS[1], customer.country, True)


# --- the checks ---------------------------------------------------------------------------------------------------


def survey_cooldown_and_channel(ctx: Context) -> CheckResult:
    """No survey inside the cooldown of the customer's previous one; none by a channel they had opted out of."""
    result = CheckResult("no survey inside the cooldown or to an opted-out channel")
    cooldown = _cooldown(ctx)
    optouts = ctx.optout_spans()
    last: dict[int, tuple[dt.datetime, int]] = {}
    # A survey whose letter was cancelled before it was posted (its customer opted out of letters at that moment)
    # never reached the customer: not a contact.
    never_posted = set(ctx.session.scalars(select(Letter.id).where(Letter.status == LETTER_CANCELLED)))
    for survey in ctx.session.scalars(select(Survey).where(Survey.sent_at.is_not(None))
                                      .order_by(Survey.customer_id, Survey.sent_at, Survey.id)):
        if survey.channel == "letter" and survey.letter_id in never_posted:
            continue
        previous = last.get(survey.customer_id)
        if previous is not None and survey.sent_at - previous[0] < cooldown:
            result.add(f"survey {survey.id} to customer {survey.customer_id} sent {_fmt(survey.sent_at)}, "
                       f"{(survey.sent_at - previous[0]).days} days after survey {previous[1]}")
        last[survey.customer_id] = (survey.sent_at, survey.id)
        if survey.channel and _inside(optouts.get((survey.customer_id, survey.channel), []), survey.sent_at):
            result.add(f"survey {survey.id} sent by {survey.channel} {_fmt(survey.sent_at)} to customer "
                       f"{survey.customer_id}, opted out of {survey.channel}")
    return result


def _latest_score(answers: list[tuple[dt.datetime, int]], at: dt.datetime) -> int | None:
    found = None
    for answered, score in answers:  # sorted by time
        if answered <= at:
            found = score
    return found


def referral_offer_eligibility(ctx: Context) -> CheckResult:
    """Offers only to promoters (the program's minimum score, 9 by default), from the program's day after delivery
    (and past the return window), never while a complaint is open."""
    result = CheckResult("no referral offer to a non-promoter, before the eligibility day or during a complaint")
    session = ctx.session
    answers = defaultdict(list)
    for cid, at, score in session.execute(select(NpsAnswer.customer_id, NpsAnswer.answered_at, NpsAnswer.score)
                                          .order_by(NpsAnswer.answered_at)):
        answers[cid].append((at, score))
    programs = {p.id: p for p in session.scalars(select(ReferralProgram))}
    complaints = ctx.complaint_spans()
    for offer, sale in session.execute(select(ReferralOffer, Sale).outerjoin(Sale, ReferralOffer.sale_id == Sale.id)
                                       .where(ReferralOffer.status == MADE)):
        program = programs.get(offer.program_id)
        at = offer.created_at
        score = _latest_score(answers.get(offer.customer_id, []), at)
        minimum = program.min_nps if program is not None else 9
        if score is None or score < minimum:
            result.add(f"offer {offer.id} to customer {offer.customer_id} at {_fmt(at)}: latest NPS {score}, "
                       f"needs {minimum}")
        if sale is None or program is None:
            result.add(f"offer {offer.id}: no sale or program to be eligible by")
            continue
        since = sale.delivered_at if sale.delivered_at is not None and sale.delivered_at <= at else sale.sold_at
        ready = since + dt.timedelta(days=max(program.min_days, program.return_window_days))
        if at < ready:
            result.add(f"offer {offer.id} made {_fmt(at)}, eligible only from {_fmt(ready)}")
        if _inside(_before(complaints.get(offer.customer_id, []), at), at):
            result.add(f"offer {offer.id} made {_fmt(at)} while customer {offer.customer_id} had a complaint open")
    return result


def _before(spans: list, at: dt.datetime) -> list:
    """The complaint spans that may hold back a contact made at `at`: a case opened in that very instant (the
    simulated clock stands still within a step) came after it. Sending a survey and making a referral offer lock the
    customer's row (customers/locking.py), which a case's insert waits for, and a case committed before that lock
    holds the survey or offer back."""
    return [(start, end) for start, end in spans if start != at]


def nothing_asked_during_complaint(ctx: Context) -> CheckResult:
    """No survey sent and no referral offer made while the customer's complaint is open or being verified."""
    result = CheckResult("no survey or referral offer while a complaint is open or its verification pending")
    complaints = ctx.complaint_spans()
    for sid, cid, at in ctx.session.execute(select(Survey.id, Survey.customer_id, Survey.sent_at)
                                            .where(Survey.sent_at.is_not(None))):
        if _inside(_before(complaints.get(cid, []), at), at):
            result.add(f"survey {sid} sent {_fmt(at)} while customer {cid} had a complaint open")
    for oid, cid, at in ctx.session.execute(select(ReferralOffer.id, ReferralOffer.customer_id,
                                                   ReferralOffer.created_at).where(ReferralOffer.status == MADE)):
        if _inside(_before(complaints.get(cid, []), at), at):
            result.add(f"offer {oid} made {_fmt(at)} while customer {cid} had a complaint open")
    return result


def _due_setters(session: Session) -> dict[int, tuple[dt.datetime, bool, str]]:
    """{touchpoint id: (when, by a person?, what)}: the last action that set a call's time. A reschedule or a call-back
    the customer asked for is a person's time; a snooze (the next moment inside the hours of whoever snoozed) and
    a retry after no answer are the system's. A no answer that ended the call (its last attempt) set no new time:
    the call keeps the time it was due at."""
    last: dict[int, tuple[dt.datetime, bool, str]] = {}

    def note(tp_id: int, at: dt.datetime, person: bool, what: str) -> None:
        if tp_id not in last or at >= last[tp_id][0]:
            last[tp_id] = (at, person, what)

    for entity, at, action in session.execute(select(AuditEntry.entity_id, AuditEntry.at, AuditEntry.action).where(
            AuditEntry.entity_type == "touchpoint", AuditEntry.action.in_(("call.snoozed", "call.rescheduled")))):
        if str(entity).isdigit():
            note(int(entity), at, action == "call.rescheduled", action)
    ended = dict(session.execute(select(Touchpoint.id, Touchpoint.completed_at).where(
        Touchpoint.kind == "call", Touchpoint.status == "done", Touchpoint.outcome.in_(("no_answer", "voicemail")))
        .where(Touchpoint.completed_at.is_not(None))).all())
    for tp_id, at, outcome in session.execute(select(CallAttempt.touchpoint_id, CallAttempt.at, CallAttempt.outcome)
                                              .where(CallAttempt.outcome.in_(("call_back", "no_answer", "voicemail")))):
        if outcome != "call_back" and ended.get(tp_id) == at:
            continue  # the last attempt: the call ended there, no retry was planned
        note(tp_id, at, outcome == "call_back", outcome)
    return last


def _hand_overs(session: Session) -> dict[int, list[tuple[dt.datetime, str, dict]]]:
    """{touchpoint id: [(at, action, changes)]}: each time a call changed hands, in order: covered for someone away
    (`call.covered`: owner_id, from_owner_id, due_at, held, moved_from when its time moved) or reassigned by a person
    (`call.reassigned`)."""
    out: dict[int, list] = defaultdict(list)
    for entity, at, action, changes in session.execute(
            select(AuditEntry.entity_id, AuditEntry.at, AuditEntry.action, AuditEntry.changes).where(
                AuditEntry.entity_type == "touchpoint", AuditEntry.action.in_(("call.covered", "call.reassigned")))
            .order_by(AuditEntry.at, AuditEntry.id)):
        if str(entity).isdigit():
            out[int(entity)].append((at, action, changes or {}))
    return out


def _local(at: dt.datetime, zone: str | None) -> str:
    return at.astimezone(calendar.time_zone(zone)).strftime("%a %H:%M")


def calls_inside_hours(ctx: Context) -> CheckResult:
    """Every call whose time the system chose is due inside the customer's reachable hours (the step's window, or
    10:00-18:00 on their business days) and the working hours of the owner it was chosen for (work_start-work_end
    in their zone, their country's business days), on a day the owner is not away. Times a person chose (a
    reschedule, a call-back the customer asked for, an ad-hoc call opened for a given time) are theirs.

    A call that changes hands without a new time is judged at the hand-over: covered for someone away, the
    colleague works at the time it is to be worked (its due time, or the cover itself when it was already overdue:
    an overdue call keeps the time it was due at); a cover that moved the time chose it for the colleague; a snooze
    is held like a promised time and kept for whoever is in (docs/architecture.md, journeys/cover.py), as is the
    time of a call a person reassigned."""
    result = CheckResult("no call outside the customer's reachable hours or the owner's working hours")
    session = ctx.session
    setters = _due_setters(session)
    hand_overs = _hand_overs(session)
    steps = {s.id: s for s in session.scalars(select(JourneyStep))}
    windows: dict = {}

    def window_of(key, make):
        if key not in windows:
            windows[key] = make()
        return windows[key]

    def hours_of(person: StaffUser) -> str:
        return f"{person.timezone} {person.country} {person.work_start}-{person.work_end}"

    for tp in session.scalars(select(Touchpoint).where(Touchpoint.kind == "call", Touchpoint.handed_at.is_not(None))):
        moves = hand_overs.get(tp.id, [])
        set_by = setters.get(tp.id)
        # A cover that moved the call into the colleague's hours set its time too (the system's).
        for at, action, changes in moves:
            if action == "call.covered" and changes.get("moved_from") and (set_by is None or at > set_by[0]):
                set_by = (at, False, "covered")
        person = set_by[1] if set_by is not None else (tp.purpose is not None and tp.purpose not in SYSTEM_PURPOSES)
        if person:
            continue
        set_at = set_by[0] if set_by is not None else None
        customer = ctx.customers[tp.customer_id]
        step = steps.get(tp.step_id)
        mine = window_of(("c", customer.timezone, customer.country, tp.step_id),
                         lambda: _customer_window(customer, step))
        where = (f"call {tp.id} ({tp.purpose or (step.key if step else '?')}, {tp.status}) due {_fmt(tp.due_at)} UTC"
                 f" = {_local(tp.due_at, customer.timezone)} for customer {tp.customer_id} ({customer.timezone} "
                 f"{customer.country} {mine.start:%H:%M}-{mine.end:%H:%M}"
                 f"{'' if mine.business_days else ' every day'})")
        if not calendar.in_window(tp.due_at, mine):
            result.add(f"{where}: outside the customer's hours")
            continue
        # Who the time was chosen for: the owner holding the call then (hand-overs up to that moment applied).
        owner_id = moves[0][2].get("from_owner_id", tp.owner_id) if moves else tp.owner_id
        later = []
        for at, action, changes in moves:
            if set_at is not None and at <= set_at:
                owner_id = changes.get("owner_id", owner_id)
            else:
                later.append((at, action, changes))
        owner = ctx.staff.get(owner_id)
        if owner is None:
            continue
        # A planned time (no action recorded) may have been planned again (delivery re-anchor, journey edit) for
        # whoever held the call by then: any of its holders' hours will do.
        holders = [owner] + ([ctx.staff.get(c.get("owner_id")) for _at, _action, c in later] if set_at is None else [])
        if not any(calendar.in_window(tp.due_at, window_of(("o", h.id), lambda h=h: _owner_window(h)))
                   for h in holders if h is not None):
            result.add(f"{where}: {_local(tp.due_at, owner.timezone)} for owner {owner.id} ({hours_of(owner)}), "
                       f"outside their working hours (time set {_fmt(set_at) if set_at else 'when planned'})")
            continue
        # Handed on later without a new time.
        work_at = tp.due_at
        for at, action, changes in later:
            colleague = ctx.staff.get(changes.get("owner_id"))
            if action != "call.covered" or colleague is None:
                break  # handed on by a person (reassigned): from here on the time is theirs
            if changes.get("held") and set_by is not None and set_by[2] == "call.snoozed":
                break  # a snooze is held like a promised time: kept for whoever is in (cover.py)
            work_at = max(tp.due_at, at)
            hours = window_of(("o", colleague.id), lambda: _owner_window(colleague))
            if not calendar.in_window(work_at, hours):
                result.add(f"{where}: covered {_fmt(at)} for owner {changes.get('from_owner_id')} by owner "
                           f"{colleague.id} ({hours_of(colleague)}), who is not at work at {_fmt(work_at)} UTC = "
                           f"{_local(work_at, colleague.timezone)}")
                break
            owner = colleague
        else:
            if ctx.away(owner, work_at) and tp.status in PENDING:
                result.add(f"{where}: owner {owner.id} ({hours_of(owner)}) is away on "
                           f"{_local(work_at, owner.timezone)}")
    return result


def no_contact_after_stop(ctx: Context) -> CheckResult:
    """Nothing a refund or churn stopped (the ended journey's steps; offers on a refunded sale) and nothing by a
    channel the customer opted out of reaches them afterwards. An exit leaves a call a person holds (open, tried,
    or at a time a person set) with its owner: those may still be made."""
    result = CheckResult("no contact after a refund, churn or opt-out that should have stopped it")
    session = ctx.session
    exits = {e.id: e for e in session.scalars(select(Enrollment).where(Enrollment.status == EXITED,
                                                                       Enrollment.ended_at.is_not(None)))
             if (e.exit_reason or "").split(":")[0] in STOPPING_EXITS}
    first_attempt: dict[int, dt.datetime] = {}
    for tp_id, at in session.execute(select(CallAttempt.touchpoint_id, CallAttempt.at)):
        first_attempt[tp_id] = min(at, first_attempt.get(tp_id, at))
    ids = list(exits)
    touchpoints = []
    for start in range(0, len(ids), 5000):
        touchpoints += session.scalars(select(Touchpoint).where(Touchpoint.enrollment_id.in_(ids[start:start + 5000])))
    exited_tp = {}
    for tp in touchpoints:
        ended = exits[tp.enrollment_id].ended_at
        exited_tp[tp.id] = ended
        why = exits[tp.enrollment_id].exit_reason.split(":")[0]
        if tp.handed_at is None or tp.handed_at <= ended:
            continue
        if tp.kind == "call" and (tp.held_at is not None or tp.id in first_attempt):
            continue  # a call a person held, tried or set a time for stays with its owner (it survived the exit)
        result.add(f"{tp.kind} {tp.id} handed {_fmt(tp.handed_at)} after {why} at {_fmt(ended)} "
                   f"(customer {tp.customer_id})")
    for sid, tp_id, at in session.execute(select(Survey.id, Survey.touchpoint_id, Survey.sent_at)
                                          .where(Survey.sent_at.is_not(None), Survey.touchpoint_id.is_not(None))):
        ended = exited_tp.get(tp_id)
        if ended is not None and at > ended:
            result.add(f"survey {sid} sent {_fmt(at)} after its journey ended {_fmt(ended)}")
    for oid, at, refunded in session.execute(select(ReferralOffer.id, ReferralOffer.created_at, Sale.refunded_at)
                                             .join(Sale, ReferralOffer.sale_id == Sale.id)
                                             .where(ReferralOffer.status == MADE, Sale.refunded_at.is_not(None))):
        if at >= refunded:
            result.add(f"offer {oid} made {_fmt(at)} on a sale refunded {_fmt(refunded)}")
    # opt-outs, per channel
    optouts = ctx.optout_spans()
    for eid, cid, at in session.execute(select(OutboundEmail.id, OutboundEmail.customer_id, OutboundEmail.sent_at)
                                        .where(OutboundEmail.customer_id.is_not(None),
                                               OutboundEmail.status == EMAIL_SENT)):
        if _inside(optouts.get((cid, "email"), []), at):
            result.add(f"email {eid} sent {_fmt(at)} to customer {cid}, opted out of email")
    for lid, cid, queued, printed in session.execute(select(Letter.id, Letter.customer_id, Letter.created_at,
                                                            Letter.printed_at)
                                                     .where(Letter.status != LETTER_CANCELLED)):  # never posted
        spans = optouts.get((cid, "letter"), [])
        if _inside(spans, queued):
            result.add(f"letter {lid} queued {_fmt(queued)} for customer {cid}, opted out of letters")
        elif _inside(spans, printed):
            result.add(f"letter {lid} printed {_fmt(printed)} for customer {cid}, opted out of letters")
    calls = {}
    for tp in session.scalars(select(Touchpoint).where(Touchpoint.kind == "call", Touchpoint.handed_at.is_not(None))):
        calls[tp.id] = tp
        spans = optouts.get((tp.customer_id, "phone"), [])
        if (tp.purpose is None or tp.purpose in SYSTEM_PURPOSES) and _inside(spans, tp.handed_at):
            result.add(f"call {tp.id} handed {_fmt(tp.handed_at)} to customer {tp.customer_id}, opted out of calls")
    for aid, tp_id, cid, at in session.execute(select(CallAttempt.id, CallAttempt.touchpoint_id,
                                                      CallAttempt.customer_id, CallAttempt.at)):
        spans = optouts.get((cid, "phone"), [])
        tp = calls.get(tp_id)
        asked = tp is not None and tp.purpose == "customer_request" and _inside(spans, tp.handed_at)
        if not asked and _inside(spans, at):
            result.add(f"call attempt {aid} at {_fmt(at)} to customer {cid}, opted out of calls")
    return result


def rewards_inside_rule(ctx: Context) -> CheckResult:
    """Each offer's reward is its program's rule on the advocate's purchase (in the program's currency, above the
    insult guard); each referral carries its offer's reward; earned only after the hold, never on a refunded sale;
    the ledger holds exactly one reward per earned referral and one reversal per reversed one; caps kept."""
    result = CheckResult("every reward inside its program's rule")
    session = ctx.session
    programs = {p.id: p for p in session.scalars(select(ReferralProgram))}
    edited: dict[int, dt.datetime] = {}
    for entity, at in session.execute(select(AuditEntry.entity_id, AuditEntry.at).where(
            AuditEntry.action == "referral_program.edited")):
        if str(entity).isdigit():
            edited[int(entity)] = max(at, edited.get(int(entity), at))
    offers = {}
    for offer, sale in session.execute(select(ReferralOffer, Sale).outerjoin(Sale, ReferralOffer.sale_id == Sale.id)
                                       .where(ReferralOffer.status == MADE)):
        offers[offer.id] = offer
        program = programs.get(offer.program_id)
        if program is None or sale is None:
            result.add(f"offer {offer.id}: no program or sale")
            continue
        amount = Decimal(offer.reward_amount or 0)
        where = f"offer {offer.id} ({amount} {offer.currency} on {sale.amount} {sale.currency})"
        if offer.currency != program.currency or sale.currency != program.currency:
            result.add(f"{where}: not in the program's currency {program.currency}")
            continue
        if not program.min_purchase <= sale.amount <= program.max_purchase:
            result.add(f"{where}: purchase outside the program's range")
        if amount <= 0 or amount * 100 < program.min_share * sale.amount:
            result.add(f"{where}: below the insult guard ({program.min_share}%)")
        elif edited.get(program.id, offer.created_at) <= offer.created_at:
            expected = rewards.reward(program_rules.rule_of(program), sale.amount)
            if amount != expected:
                result.add(f"{where}: the rule gives {expected}")
    ledger = defaultdict(list)
    for entry in session.scalars(select(LedgerEntry)):
        ledger[entry.referral_id].append(entry)
    counted = defaultdict(int)
    for referral, sale in session.execute(select(Referral, Sale).join(Sale, Referral.sale_id == Sale.id)):
        rows = ledger.pop(referral.id, [])
        where = f"referral {referral.id} ({referral.status})"
        if referral.status in COUNTED:
            counted[referral.program_id] += 1
        offer = offers.get(referral.offer_id)
        if referral.status in (*COUNTED, REVERSED) and offer is not None and (
                referral.reward_amount != offer.reward_amount or referral.currency != offer.currency):
            result.add(f"{where}: reward {referral.reward_amount} {referral.currency}, its offer says "
                       f"{offer.reward_amount} {offer.currency}")
        program = programs.get(referral.program_id)
        if referral.status in (EARNED, REVERSED) and program is not None and referral.earned_at is not None:
            if referral.earned_at < sale.sold_at + dt.timedelta(days=program.hold_days):
                result.add(f"{where}: earned {_fmt(referral.earned_at)} before the {program.hold_days}-day hold")
        if referral.status == EARNED and sale.refunded_at is not None:
            result.add(f"{where}: the friend's sale was refunded {_fmt(sale.refunded_at)}, not reversed")
        kinds = sorted(e.kind for e in rows)
        wanted = {EARNED: ["reward"], REVERSED: ["reversal", "reward"]}.get(referral.status, [])
        if kinds != wanted:
            result.add(f"{where}: ledger rows {kinds or 'none'}, expected {wanted or 'none'}")
        for entry in rows:
            sign = 1 if entry.kind == "reward" else -1
            if entry.amount != sign * (referral.reward_amount or 0) or entry.currency != referral.currency:
                result.add(f"{where}: ledger {entry.kind} {entry.amount} {entry.currency}")
    for referral_id, rows in ledger.items():
        result.add(f"ledger rows for unknown referral {referral_id}")
    for program_id, count in counted.items():
        program = programs.get(program_id)
        if program is not None and program.max_referrals is not None and count > program.max_referrals:
            result.add(f"program {program_id}: {count} referrals counted over its cap {program.max_referrals}")
    return result


def touchpoints_handled_once(ctx: Context) -> CheckResult:
    """Every due touchpoint was handed out (none left scheduled or mid-claim past due + grace), each handed survey,
    letter, offer or email step has its one work row, and no touchpoint has two; no survey left unsent."""
    result = CheckResult("every due touchpoint handled exactly once")
    session, late = ctx.session, ctx.now - ctx.grace
    for tp_id, kind, status, due in session.execute(
            select(Touchpoint.id, Touchpoint.kind, Touchpoint.status, Touchpoint.due_at).where(
                (Touchpoint.status == CLAIMING) | ((Touchpoint.status == SCHEDULED) & (Touchpoint.due_at <= late)))):
        result.add(f"{kind} {tp_id} still {status}, due {_fmt(due)}")
    work = defaultdict(int)
    for model in (Survey, Letter, ReferralOffer):
        for tp_id in session.scalars(select(model.touchpoint_id).where(model.touchpoint_id.is_not(None))):
            work[tp_id] += 1
    for ref in session.scalars(select(OutboundEmail.ref).where(OutboundEmail.ref.like("touchpoint:%"))):
        if ref[11:].isdigit():
            work[int(ref[11:])] += 1
    for tp_id, kind in session.execute(select(Touchpoint.id, Touchpoint.kind).where(
            Touchpoint.status == HANDED, Touchpoint.kind.in_(WORK_KINDS))):
        if work.get(tp_id, 0) != 1:
            result.add(f"{kind} {tp_id} handed with {work.get(tp_id, 0)} work rows")
    spans = ctx.complaint_spans()
    for sid, cid, created, reason in session.execute(select(Survey.id, Survey.customer_id, Survey.created_at,
                                                            Survey.reason).where(Survey.status == "to_send",
                                                                                 Survey.created_at <= late)):
        if not _inside(spans.get(cid, []), late):
            result.add(f"survey {sid} still to send since {_fmt(created)} ({reason or 'no reason'})")
    return result


def held_calls_kept(ctx: Context) -> CheckResult:
    """A call a person held (snoozed, rescheduled, a call-back promised) before a journey edit still exists after
    it, with its time and owner, neither cancelled nor skipped by the edit."""
    result = CheckResult("no call a person held lost by a journey edit")
    session = ctx.session
    edits = sorted(session.scalars(select(AuditEntry.at).where(AuditEntry.action == "journey.edited")))
    given = ctx.facts.get("held_before_edit") or {}
    if not isinstance(given, dict):
        given = {tp_id: None for tp_id in given}
    held: dict[int, dt.datetime | None] = {int(k): v for k, v in given.items()}
    if edits:
        last_edit = edits[-1]
        for entity in session.scalars(select(AuditEntry.entity_id).where(
                AuditEntry.entity_type == "touchpoint", AuditEntry.at < last_edit,
                AuditEntry.action.in_(("call.snoozed", "call.rescheduled")))):
            if str(entity).isdigit():
                held.setdefault(int(entity), None)
        for tp_id in session.scalars(select(CallAttempt.touchpoint_id).where(CallAttempt.outcome == "call_back",
                                                                            CallAttempt.at < last_edit)):
            held.setdefault(tp_id, None)
    if not held:
        return result
    ids = list(held)
    rows = {}
    for start in range(0, len(ids), 5000):
        rows.update({tp.id: tp for tp in session.scalars(select(Touchpoint).where(
            Touchpoint.id.in_(ids[start:start + 5000])))})
    touched_after = set()
    if edits:
        first_edit = edits[0]
        touched_after.update(session.scalars(select(CallAttempt.touchpoint_id).where(CallAttempt.at > first_edit)))
        touched_after.update(int(e) for e in session.scalars(select(AuditEntry.entity_id).where(
            AuditEntry.entity_type == "touchpoint", AuditEntry.at > first_edit,
            AuditEntry.action.like("call.%"))) if str(e).isdigit())
    for tp_id, due in sorted(held.items()):
        tp = rows.get(tp_id)
        if tp is None:
            result.add(f"call {tp_id} held by a person is gone")
            continue
        if tp.status == "cancelled" or (tp.status == "skipped" and (tp.reason or "").startswith("version ")):
            result.add(f"call {tp_id} held by a person was {tp.status} ({tp.reason})")
        elif tp.owner_id is None:
            result.add(f"call {tp_id} held by a person has no owner")
        elif (due is not None and tp.status in (SCHEDULED, OPEN) and tp_id not in touched_after
              and tp.due_at != due):
            result.add(f"call {tp_id} held for {_fmt(due)} is now due {_fmt(tp.due_at)}")
    return result


def _business_deadline(start: dt.datetime, customer: Customer, owner: StaffUser | None,
                       step: JourneyStep | None = None) -> dt.datetime:
    """The end (in the customer's zone) of the first day after `start`'s local day on which the customer's calling
    hours (their business days) and the owner's working hours (theirs) are both open: "one business day" counted on
    both calendars (a Cairo customer, Fri-Sat weekend, with an owner in Dubai, Sat-Sun: Friday -> Monday)."""
    zone = calendar.time_zone(customer.timezone)
    window = _customer_window(customer, step)
    after = dt.datetime.combine(start.astimezone(zone).date() + dt.timedelta(days=1), dt.time(), zone)
    slot = calendar.earliest_slot(after, [window, _owner_window(owner)]) if owner is not None else None
    if slot is None:  # no owner, or no shared hours within three weeks: the customer's calendar alone
        slot = calendar.earliest_slot(after, [window]) or calendar.next_business_morning(start, window)
    day = slot.astimezone(zone).date()
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone).astimezone(UTC)


def _aware(value) -> dt.datetime | None:
    try:
        at = dt.datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _cooldown(ctx: Context) -> dt.timedelta:
    days = ctx.facts.get("survey_cooldown_days")
    if days is None:
        from flask import current_app, has_app_context

        days = current_app.config.get("SURVEY_COOLDOWN_DAYS", 30) if has_app_context() else 30
    return dt.timedelta(days=int(days))


def detractors_called(ctx: Context) -> CheckResult:
    """Every detractor (0-6) has a recovery call due within one business day of the answer (once a one-click
    score has settled). A call is judged by the time it was due when it was opened (the `call.opened` entry's
    due_at; a journey step's call by when it reached the list, or its due time if earlier): snoozing, rescheduling
    or retrying it later is the staff's choice. The business day counts on the customer's and the owner's calendars.

    Where the app rightly opens no new call (docs/architecture.md, surveys/loop.py): the customer was already
    followed up for the same period (a recovery call opened within SURVEY_COOLDOWN_DAYS before the answer, or
    one still to be made when it came: one call, never doubled); the customer had opted out of phone calls when
    the answer was followed up (the call is kept as skipped, in nobody's list); an answer another system sent
    more than EVENT_FOLLOW_UP_WITHIN after it was given (it only feeds the facts)."""
    result = CheckResult("every detractor has a recovery call within one business day")
    session = ctx.session
    sources = set(ctx.facts.get("detractor_sources") or ("survey", "event"))
    late = ctx.now - ctx.grace
    cooldown = _cooldown(ctx)
    optouts = ctx.optout_spans()
    opened: dict[int, dict] = {}
    for entity, changes in session.execute(select(AuditEntry.entity_id, AuditEntry.changes).where(
            AuditEntry.entity_type == "touchpoint", AuditEntry.action == "call.opened")):
        if str(entity).isdigit():
            opened.setdefault(int(entity), changes or {})
    calls = defaultdict(list)
    for tp, step in session.execute(
            select(Touchpoint, JourneyStep).outerjoin(JourneyStep, Touchpoint.step_id == JourneyStep.id)
            .where(Touchpoint.kind == "call", Touchpoint.handed_at.is_not(None))):
        if not (tp.purpose == "recovery" or (tp.purpose is None and step is not None and step.condition
                                            and "detractor" in repr(step.condition))):
            continue
        entry = opened.get(tp.id, {})
        due = _aware(entry.get("due_at")) or min(tp.due_at, tp.handed_at)
        owner_id = entry.get("owner_id") or tp.covering_for_id or tp.owner_id
        calls[tp.customer_id].append((tp, due, ctx.staff.get(owner_id) if owner_id else None, step))
    arrived = dict(session.execute(select(InboundEvent.id, InboundEvent.processed_at).where(
        InboundEvent.type == "nps.response")).all())
    for answer in session.scalars(select(NpsAnswer).where(NpsAnswer.score <= 6)):
        source = "survey" if answer.survey_id is not None else "event"
        if source not in sources:
            continue
        if source == "event":
            came = arrived.get(answer.event_id) or answer.follow_up_due_at
            if came is None or came - answer.answered_at > EVENT_FOLLOW_UP_WITHIN:
                continue  # history another system sent late: it feeds the facts, no recovery call owed
        start = answer.follow_up_due_at or answer.answered_at
        if start > late:
            continue  # still settling, or answered at the very end of the run
        customer = ctx.customers[answer.customer_id]
        first = answer.first_answered_at or answer.answered_at
        mine = calls.get(answer.customer_id, [])
        if any(first - ctx.grace <= due <= _business_deadline(start, customer, owner, step)
               for _tp, due, owner, step in mine):
            continue
        # Followed up already for this period: a recovery call opened before this answer was followed up, due
        # within the cooldown before it or still to be made when it came (one call, never doubled).
        followed = answer.followed_up_at or start
        if any(tp.handed_at < followed and (due >= first - cooldown or tp.completed_at is None
                                            or tp.completed_at >= start)
               for tp, due, _owner, _step in mine):
            continue
        if _inside(optouts.get((answer.customer_id, "phone"), []), answer.followed_up_at or start):
            continue  # opted out of calls: the app keeps the call as skipped, in nobody's list
        deadline = _business_deadline(start, customer, customer.owner)
        others = ", ".join(f"{tp.purpose or 'step'} {tp.id} due {_fmt(due)} ({tp.status})"
                           for tp, due, _owner, _step in mine) or "none"
        result.add(f"NPS {answer.score} ({source}) of customer {answer.customer_id} at {_fmt(answer.answered_at)}:"
                   f" no recovery call due by {_fmt(deadline)} when opened (answer {answer.id}, first answered "
                   f"{_fmt(first)}, followed up {_fmt(answer.followed_up_at)} with call {answer.call_id}; customer in "
                   f"{customer.timezone} {customer.country}; recovery calls: {others})")
    return result


def complaint_sla(ctx: Context) -> CheckResult:
    """Each complaint met its first-response and solution targets, or shows as breached: escalated (its owner and
    the admins told) once the target passed, within the grace of a tick."""
    result = CheckResult("every complaint met its SLA or shows as breached")
    session, grace = ctx.session, ctx.grace
    escalations = defaultdict(list)
    for case_id, at in session.execute(select(CaseChange.case_id, CaseChange.at).where(CaseChange.action == "escalated")):
        escalations[case_id].append(at)

    def shown(case_id: int, due: dt.datetime, met: dt.datetime | None) -> bool:
        """Met in time, or escalated after the target passed (before it was met late), or not yet due + grace."""
        if met is not None and met <= due + grace:
            return True
        if met is None and ctx.now <= due + grace:
            return True
        return any(due <= at <= (met or ctx.now) for at in escalations.get(case_id, []))

    for case in session.scalars(select(Complaint)):
        if case.first_response_due_at is not None:
            if not shown(case.id, case.first_response_due_at, case.first_response_at):
                result.add(f"complaint {case.id}: first response due {_fmt(case.first_response_due_at)}, "
                           f"given {_fmt(case.first_response_at)}, never escalated")
        if case.resolution_due_at is not None:
            owing = case.status in ("new", "acknowledged", "investigating")
            met = None if owing else (case.resolved_at or case.closed_at)
            if not shown(case.id, case.resolution_due_at, met):
                result.add(f"complaint {case.id}: solution due {_fmt(case.resolution_due_at)}, "
                           f"offered {_fmt(met)}, never escalated")
    return result


CHECKS = (survey_cooldown_and_channel, referral_offer_eligibility, nothing_asked_during_complaint, calls_inside_hours,
          no_contact_after_stop, rewards_inside_rule, touchpoints_handled_once, held_calls_kept, detractors_called,
          complaint_sla)


def run_all(session: Session, facts: dict | None = None) -> list[CheckResult]:
    """Every check over the database as it is now; one result each, in the order of the promises."""
    ctx = Context(session, dict(facts or {}))
    return [check(ctx) for check in CHECKS]


def report(results: list[CheckResult]) -> str:
    """The counts as lines to print (with the examples of each check that failed)."""
    lines = []
    for r in results:
        lines.append(f"{r.violations:6d}  {r.name}")
        lines.extend(f"          - {example}" for example in r.examples)
    return "\n".join(lines)
