"""Journeys changed by people: pause, resume, skip, and new versions of a journey (with the default one).

Every function takes `now`; nothing here reads the clock.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from retention.audit.service import record
from retention.journeys import calendar, conditions, registry
from retention.journeys.models import (
    ACTIVE, ANCHORS, CLAIMING, COMPLETED, DONE, HANDED, OPEN, PAUSED, PAUSED_TP, PENDING, SCHEDULED, SKIPPED,
    NOT_BUILT_KINDS, STEP_KINDS, Enrollment, Journey, JourneyStep, Touchpoint,
)
from retention.errors import Conflict, NotFound
from retention.queries import id_in
from retention.journeys.planning import LATE_GRACE, Planner, _plan_touchpoints, is_held, parse_hhmm, plan_due



class JourneyError(ValueError):
    """A journey definition or change that cannot be accepted (422); the message names the field."""


class JourneyNotFound(JourneyError, NotFound):
    """No such journey, enrollment or step (404)."""


class JourneyStateError(JourneyError, Conflict):
    """The change does not fit the current state, e.g. resuming what is not paused (409)."""


# --- Control by staff --------------------------------------------------------------------------

def pause(session: Session, enrollment: Enrollment, now: dt.datetime, *, actor: str) -> None:
    """Hold an enrollment: nothing is handed out while paused; events keep being recorded.

    Each touchpoint remembers its status (an open call goes back open on resume).
    """
    if enrollment.status != ACTIVE:
        raise JourneyStateError(f"status: only an active enrollment can be paused (it is {enrollment.status})")
    enrollment.status, enrollment.paused_at = PAUSED, now
    record(session, actor=actor, action="enrollment.pause", entity_type="enrollment", entity_id=enrollment.id, now=now)
    session.execute(update(Touchpoint).where(Touchpoint.enrollment_id == enrollment.id,
                                             Touchpoint.status.in_((SCHEDULED, OPEN)))
                    .values(paused_from=Touchpoint.status, status=PAUSED_TP)
                    .execution_options(synchronize_session=False))
    session.expire(enrollment, ["touchpoints"])


def resume(session: Session, enrollment: Enrollment, now: dt.datetime, *, actor: str) -> dt.timedelta:
    """Resume a paused enrollment: its planned steps move later by the length of the pause.

    What a person holds keeps its time: an open call goes back to its owner's list as it was, and a
    time a person set (call-back, snooze, reschedule) stays (overdue if it passed during the pause).
    """
    if enrollment.status != PAUSED or enrollment.paused_at is None:
        raise JourneyStateError(f"status: only a paused enrollment can be resumed (it is {enrollment.status})")
    length = now - enrollment.paused_at
    for tp in session.scalars(select(Touchpoint).where(Touchpoint.enrollment_id == enrollment.id,
                                                       Touchpoint.status == PAUSED_TP)):
        if tp.paused_from == OPEN:
            tp.status = OPEN
        else:
            if tp.held_at is None:
                tp.due_at = calendar.shift(tp.due_at, length)
            tp.status = SCHEDULED
        tp.paused_from = None
    enrollment.status, enrollment.paused_at = ACTIVE, None
    record(session, actor=actor, action="enrollment.resume", entity_type="enrollment", entity_id=enrollment.id,
           now=now)
    return length


def skip(session: Session, touchpoint: Touchpoint, now: dt.datetime, reason: str, *, actor: str) -> None:
    """Skip one planned step, keeping why."""
    if touchpoint.status not in PENDING:
        raise JourneyStateError(f"status: a {touchpoint.status} step cannot be skipped")
    touchpoint.status, touchpoint.reason, touchpoint.completed_at = SKIPPED, reason or "skipped by staff", now
    touchpoint.paused_from = None
    record(session, actor=actor, action="touchpoint.skipped", entity_type="touchpoint", entity_id=touchpoint.id,
           now=now)
    complete_if_finished(session, touchpoint.enrollment, now)


def complete_finished(session: Session, enrollment_ids, now: dt.datetime) -> list[int]:
    """Complete the active enrollments among these that have nothing left to do; returns their ids.

    The one completion rule: no touchpoint still pending (or being claimed by the tick right now).
    """
    session.flush()
    ids, completed = list(enrollment_ids), []
    for chunk in range(0, len(ids), 1000):
        part = ids[chunk:chunk + 1000]
        # NOT EXISTS stops at the first pending touchpoint found.
        pending = (select(Touchpoint.id).where(Touchpoint.enrollment_id == Enrollment.id,
                                               Touchpoint.status.in_((*PENDING, CLAIMING))).exists())
        finished = list(session.scalars(select(Enrollment.id).where(
            id_in(session, Enrollment.id, part), Enrollment.status == ACTIVE, ~pending)))
        if finished:
            session.execute(update(Enrollment).where(id_in(session, Enrollment.id, finished),
                                                     Enrollment.status == ACTIVE)
                            .values(status=COMPLETED, ended_at=now).execution_options(synchronize_session=False))
            completed += finished
    return completed


def complete_if_finished(session: Session, enrollment: Enrollment, now: dt.datetime) -> bool:
    """Mark an enrollment completed once nothing is left to do (complete_finished for one)."""
    if enrollment.status != ACTIVE or not complete_finished(session, [enrollment.id], now):
        return False
    set_committed_value(enrollment, "status", COMPLETED)  # what the UPDATE wrote, without writing it again
    set_committed_value(enrollment, "ended_at", now)
    return True


# --- Step definitions: the one validator of pages, API and seed ----------------------------------

EDIT_CHOICES = ("keep", "move", "new_only")
MAX_STEPS = 50
MAX_SCRIPT = 5000
MAX_CONDITION_TEXT = 1000
STEP_FIELDS = ("key", "title", "day_offset", "kind", "window_start", "window_end", "business_days", "condition",
               "script", "template_key")
_KEY = re.compile(r"[A-Za-z0-9_-]{1,60}", re.ASCII)
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)", re.ASCII)
_WHOLE = re.compile(r"\+?\d{1,6}", re.ASCII)


def _step_name(number: int, step) -> str:
    title = step.get("title") if isinstance(step, dict) else None
    key = step.get("key") if isinstance(step, dict) else None
    name = (title.strip() if isinstance(title, str) else "") or (key.strip() if isinstance(key, str) else "")
    return f"step {number} ({name[:60]})" if name else f"step {number}"


def _text(where: str, field: str, value, limit: int, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise JourneyError(f"{where}: {field}: must be text")
    if len(value) > limit:
        raise JourneyError(f"{where}: {field}: at most {limit} characters")
    return value


def _clean_step(where: str, step: dict) -> dict:
    unknown = sorted(str(name) for name in step if name not in STEP_FIELDS)
    if unknown:
        raise JourneyError(f"{where}: {unknown[0][:40]}: not a step field (fields: {', '.join(STEP_FIELDS)})")
    key = _text(where, "key", step.get("key"), 200).strip()
    if not key:
        raise JourneyError(f"{where}: key: required (letters, digits, _ and -, at most 60)")
    if not _KEY.fullmatch(key):
        raise JourneyError(f"{where}: key: letters, digits, _ and - only, at most 60 characters")
    title = _text(where, "title", step.get("title"), 200).strip() or key.replace("_", " ").capitalize()
    kind = step.get("kind")
    if kind in NOT_BUILT_KINDS:
        raise JourneyError(f"{where}: kind: {kind} steps are not built yet "
                           f"(use one of {', '.join(k for k in STEP_KINDS if k not in NOT_BUILT_KINDS)})")
    if kind not in STEP_KINDS:
        raise JourneyError(f"{where}: kind: must be one of {', '.join(k for k in STEP_KINDS if k not in NOT_BUILT_KINDS)}")
    day = step.get("day_offset")
    if isinstance(day, str) and _WHOLE.fullmatch(day.strip()):
        day = int(day.strip())
    if isinstance(day, bool) or not isinstance(day, int):
        raise JourneyError(f"{where}: day_offset: required, a whole number of days from 0 to 365")
    if not 0 <= day <= 365:
        raise JourneyError(f"{where}: day_offset: between 0 and 365")
    times = {}
    for field, default in (("window_start", "10:00"), ("window_end", "18:00")):
        value = step.get(field)
        value = default if value is None or value == "" else value
        if not isinstance(value, str) or not _HHMM.fullmatch(value.strip()):
            raise JourneyError(f"{where}: {field}: a time as HH:MM (00:00 to 23:59)")
        times[field] = parse_hhmm(value.strip())
    if times["window_end"] <= times["window_start"]:
        raise JourneyError(f"{where}: window_end: must be after window_start")
    business_days = step.get("business_days", True)
    if business_days is None:
        business_days = True
    if not isinstance(business_days, bool):
        raise JourneyError(f"{where}: business_days: true or false")
    condition = step.get("condition")
    try:
        if isinstance(condition, str):
            if len(condition) > MAX_CONDITION_TEXT:
                raise JourneyError(f"{where}: condition: at most {MAX_CONDITION_TEXT} characters")
            condition = conditions.to_json(conditions.parse(condition)) if condition.strip() else None
        elif isinstance(condition, dict):
            conditions.validate(condition)
        elif condition is not None:
            raise JourneyError(f"{where}: condition: a rule as text (latest_nps >= 9) or its JSON form")
    except conditions.RuleError as exc:
        raise JourneyError(f"{where}: condition: {exc}") from None
    for name in conditions.unavailable_facts(condition):
        raise JourneyError(f"{where}: condition: fact '{name}' is not available yet")
    script = _text(where, "script", step.get("script"), MAX_SCRIPT)
    template_key = _text(where, "template_key", step.get("template_key"), 200).strip() or None
    if template_key is not None and not _KEY.fullmatch(template_key):
        raise JourneyError(f"{where}: template_key: letters, digits, _ and - only, at most 60 characters")
    if template_key is not None and kind != "letter":
        raise JourneyError(f"{where}: template_key: only letter steps use a letter template")
    return {"key": key, "title": title, "day_offset": day, "kind": kind,
            "window_start": f"{times['window_start']:%H:%M}", "window_end": f"{times['window_end']:%H:%M}",
            "business_days": business_days, "condition": condition or None, "script": script,
            "template_key": template_key}


def validate_steps(steps, session: Session | None = None) -> list[dict]:
    """Check step definitions, for the edit page, the API and the seed alike.

    Errors are JourneyError naming the step (counted from 1, by its title) and the field. With a
    session, the check its kind's feature registered also runs (a letter step's template must exist
    in every letter language: retention/postal/registration.py).
    """
    if not isinstance(steps, list) or not steps:
        raise JourneyError("steps: a journey needs at least one step")
    if len(steps) > MAX_STEPS:
        raise JourneyError(f"steps: at most {MAX_STEPS} steps")
    keys = set()
    clean = []
    for number, step in enumerate(steps, start=1):
        where = _step_name(number, step)
        if not isinstance(step, dict):
            raise JourneyError(f"{where}: must be an object with key, kind and day_offset")
        spec = _clean_step(where, step)
        if spec["key"] in keys:
            raise JourneyError(f"{where}: key: {spec['key']!r} is used by an earlier step")
        keys.add(spec["key"])
        check = registry.STEP_CHECKS.get(spec["kind"])
        if session is not None and check is not None:
            check(session, where, spec)  # e.g. a letter step's template (retention/postal/registration.py)
        clean.append(spec)
    return clean


def _journey_name(name) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip():
        raise JourneyError("name: must not be blank")
    if len(name.strip()) > 200:
        raise JourneyError("name: at most 200 characters")
    return name.strip()


def create_journey(session: Session, *, key: str, name: str, anchor: str, steps: list[dict], now: dt.datetime,
                   actor: str, exit_events=("sale.refunded", "customer.churned"),
                   check_templates: bool = True) -> Journey:
    """A new journey (version 1). The seed creates its journey before its letter templates, so it skips that check."""
    if anchor not in ANCHORS:
        raise JourneyError(f"anchor: must be one of {', '.join(ANCHORS)}")
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise JourneyError("key: letters, digits, _ and - only, at most 60 characters")
    journey = Journey(key=key, version=1, is_current=True, name=_journey_name(name), anchor=anchor,
                      exit_events=list(exit_events), created_at=now, created_by=actor)
    for position, spec in enumerate(validate_steps(steps, session if check_templates else None)):
        journey.steps.append(JourneyStep(position=position, **spec))
    session.add(journey)
    return journey


def current_version(session: Session, key: str) -> Journey | None:
    return session.scalar(select(Journey).where(Journey.key == key, Journey.is_current.is_(True)))


def _running(session: Session, key: str):
    return select(Enrollment).join(Journey).where(Journey.key == key, Enrollment.status.in_((ACTIVE, PAUSED)))


def _not_started(session: Session, key: str):
    started = select(Touchpoint.enrollment_id).where(Touchpoint.status.in_((OPEN, HANDED, DONE)))
    return _running(session, key).where(Enrollment.id.not_in(started))


# --- Moving customers mid-way to a new version -------------------------------------------------

@dataclass
class MoveSummary:
    """What an edit does to customers mid-way; the preview and the save count with the same code."""

    customers: int = 0
    replanned: int = 0   # steps not yet due, re-planned on the new version (matched by step key)
    kept: int = 0        # due, overdue, open or held by a person: kept as they are
    added: int = 0       # steps new in this version, planned
    removed: int = 0     # steps not yet due that the new version no longer has
    skipped: int = 0     # re-planned steps the new version puts more than a day in the past

    def add(self, other: "MoveSummary") -> None:
        for name in ("customers", "replanned", "kept", "added", "removed", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)

    def describe(self, version: int) -> str:
        parts = [f"{self.replanned} step(s) re-planned"]
        for count, words in ((self.kept, "kept as they were"), (self.added, "added"), (self.removed, "removed"),
                             (self.skipped, "skipped (already past)")):
            if count:
                parts.append(f"{count} {words}")
        return f"moved to version {version}: " + ", ".join(parts)


def _move_enrollment(session: Session, planner: Planner, enrollment: Enrollment, new: Journey,
                     new_steps: list[JourneyStep], now: dt.datetime, apply: bool) -> MoveSummary:
    """Move one enrollment's future onto `new_steps`, or (apply=False) count what that would do.

    A touchpoint a person holds or that is due (planning.is_held) keeps its row, time, owner and
    attempts, and takes the new version's step of the same key and kind. A step not yet due is
    re-planned in place from the anchor; one the new version lacks is removed (it never happened).
    History (handed, done, skipped) stays on the old version.
    """
    summary = MoveSummary(customers=1)
    customer = enrollment.customer
    by_key = {s.key: s for s in new_steps}
    taken: set[str] = set()
    waiting = PAUSED_TP if enrollment.status == PAUSED else SCHEDULED
    for tp in sorted(enrollment.touchpoints, key=lambda t: t.id or 0):
        key = tp.step.key
        if tp.status in (HANDED, DONE, SKIPPED):
            taken.add(key)
            continue
        if tp.status not in PENDING:
            continue
        target = by_key.get(key)
        if target is not None and (target.kind != tp.kind or key in taken):
            target = None
        if is_held(tp, now):
            summary.kept += 1
            taken.add(key)
            if apply and target is not None:
                tp.step = target
            continue
        if target is None:
            summary.removed += 1
            if apply:
                session.delete(tp)
            continue
        taken.add(key)
        due = plan_due(target, customer, tp.owner or customer.owner, enrollment.anchor_at)
        if due < now - LATE_GRACE:
            summary.skipped += 1
            if apply:
                tp.step, tp.due_at = target, due
                tp.status, tp.reason, tp.completed_at = SKIPPED, f"version {new.version}: was due {due:%Y-%m-%d}", now
                tp.paused_from = None
            continue
        summary.replanned += 1
        if apply:
            tp.step, tp.due_at, tp.reason = target, due, None
    fresh = [s for s in new_steps if s.key not in taken]
    if apply:
        planned = _plan_touchpoints(planner, enrollment, fresh, customer, enrollment.anchor_at, now, only_future=True)
        for tp in planned:
            if waiting == PAUSED_TP:
                tp.status, tp.paused_from = PAUSED_TP, SCHEDULED
        summary.added = len(planned)
    else:
        owner = customer.owner
        summary.added = sum(1 for s in fresh if plan_due(s, customer, owner, enrollment.anchor_at) > now)
    return summary


def _moving(session: Session, key: str, choice: str, exclude_journey_id: int | None = None) -> list[Enrollment]:
    if choice == "keep":
        return []
    stmt = _running(session, key) if choice == "move" else _not_started(session, key)
    if exclude_journey_id is not None:
        stmt = stmt.where(Enrollment.journey_id != exclude_journey_id)
    return list(session.scalars(stmt.order_by(Enrollment.id).options(
        selectinload(Enrollment.touchpoints).selectinload(Touchpoint.step),
        selectinload(Enrollment.customer))))


def edit_impact(session: Session, key: str, now: dt.datetime,
                steps: list[dict] | None = None) -> dict[str, MoveSummary]:
    """What each choice would do to customers mid-way if `steps` (default: the current ones) were saved.

    Counted by the same code that then applies the choice, so the preview is what happens.
    """
    journey = current_version(session, key)
    if journey is None:
        raise JourneyNotFound(f"key: no journey {key!r}")
    if steps is None:
        specs = [{f: getattr(s, f) for f in STEP_FIELDS} for s in journey.steps]
    else:
        specs = validate_steps(steps, session)
    preview = Journey(key=key, version=journey.version + 1)
    new_steps = [JourneyStep(position=i, **spec) for i, spec in enumerate(specs)]
    result = {}
    with session.no_autoflush:
        for choice in EDIT_CHOICES:
            total = MoveSummary()
            for enrollment in _moving(session, key, choice):
                total.add(_move_enrollment(session, None, enrollment, preview, new_steps, now, apply=False))
            result[choice] = total
    return result


def edit_journey(session: Session, key: str, *, steps: list[dict], choice: str, now: dt.datetime, actor: str,
                 name: str | None = None, anchor: str | None = None) -> tuple[Journey, MoveSummary]:
    """Save an edit as a new version; apply the admin's choice to customers mid-way.

    keep: everyone mid-way finishes on their version; new entrants get the new one.
    move: everyone mid-way has their future steps re-planned on the new version.
    new_only: only those mid-way who have not had a step yet move (they are new entrants in effect).
    Work a person holds, and what is already due, is never taken away (see _move_enrollment). Each
    moved customer gets one audit entry (shown on their timeline). Returns the version and the summary.
    """
    if choice not in EDIT_CHOICES:
        raise JourneyError(f"choice: must be one of {', '.join(EDIT_CHOICES)}")
    old = current_version(session, key)
    if old is None:
        raise JourneyNotFound(f"key: no journey {key!r}")
    anchor = anchor or old.anchor
    if anchor not in ANCHORS:
        raise JourneyError(f"anchor: must be one of {', '.join(ANCHORS)}")
    name = _journey_name(name)
    clean = validate_steps(steps, session)
    new = Journey(key=key, version=old.version + 1, is_current=True, name=name or old.name, trigger=old.trigger,
                  anchor=anchor, exit_events=list(old.exit_events), active=old.active, created_at=now,
                  created_by=actor)
    for position, spec in enumerate(clean):
        new.steps.append(JourneyStep(position=position, **spec))
    old.is_current = False
    session.add(new)
    session.flush()
    total = MoveSummary()
    planner = Planner(session)
    for enrollment in _moving(session, key, choice, exclude_journey_id=new.id):
        summary = _move_enrollment(session, planner, enrollment, new, list(new.steps), now, apply=True)
        enrollment.journey = new
        total.add(summary)
        record(session, actor=actor, action="enrollment.moved", entity_type="enrollment", entity_id=enrollment.id,
               now=now, changes={"journey": key, "version": new.version, "summary": summary.describe(new.version),
                                 **summary.as_dict()})
    planner.finish()
    record(session, actor=actor, action="journey.edited", entity_type="journey", entity_id=key, now=now,
           changes={"version": new.version, "choice": choice, **total.as_dict()})
    return new, total


DEFAULT_JOURNEY = {
    "key": "first-90-days",
    "name": "First ninety days",
    "anchor": "delivery",
    "steps": [
        # Calendar days from the anchor; calls land on the next working hours of both sides anyway.
        {"key": "welcome_letter", "day_offset": 0, "kind": "letter", "template_key": "welcome",
         "business_days": False, "title": "Welcome letter signed by the owner"},
        {"key": "check_in_call", "day_offset": 2, "kind": "call", "title": "Check-in call",
         "script": "Introduce yourself as their contact. Did it arrive well? Any trouble setting it up?"},
        {"key": "how_is_it_going_call", "business_days": False, "day_offset": 14, "kind": "call", "title": "How is it going?",
         "script": "Are they using it? What do they like? Anything that disappoints them?"},
        {"key": "nps_day_30", "business_days": False, "day_offset": 30, "kind": "nps_survey", "title": "NPS survey (day 30)"},
        {"key": "detractor_recovery_call", "business_days": False, "day_offset": 31, "kind": "call", "title": "Recovery call",
         "condition": "nps_category == \"detractor\"",
         "script": "Thank them for their honesty. Ask what went wrong, listen, offer a concrete fix."},
        {"key": "passive_call", "business_days": False, "day_offset": 32, "kind": "call", "title": "What would make it a 10?",
         "condition": "nps_category == \"passive\"",
         "script": "Ask what one thing would make it a 10 for them."},
        {"key": "check_in_day_45", "business_days": False, "day_offset": 45, "kind": "call", "title": "Day 45 check-in"},
        {"key": "referral_offer", "business_days": False, "day_offset": 60, "kind": "referral_offer", "title": "Referral offer",
         "condition": "nps_category == \"promoter\" and not open_complaint"},
        {"key": "nps_day_90", "business_days": False, "day_offset": 90, "kind": "nps_survey", "title": "NPS survey (day 90)"},
        {"key": "thank_you_letter", "day_offset": 90, "kind": "letter", "template_key": "thank_you",
         "business_days": False, "title": "Thank-you letter"},
    ],
}


def ensure_default_journey(session: Session, now: dt.datetime) -> Journey:
    """Seed the default journey of DESIGN.md section 5 unless it exists."""
    existing = current_version(session, DEFAULT_JOURNEY["key"])
    if existing is not None:
        return existing
    return create_journey(session, key=DEFAULT_JOURNEY["key"], name=DEFAULT_JOURNEY["name"],
                          anchor=DEFAULT_JOURNEY["anchor"], steps=DEFAULT_JOURNEY["steps"], now=now, actor="seed",
                          check_templates=False)
