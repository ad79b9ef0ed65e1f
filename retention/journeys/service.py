"""Journeys changed by people: pause, resume, skip, and new versions of a journey (with the default one).

Every function takes `now`; nothing here reads the clock.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from retention.journeys import calendar, conditions
from retention.journeys.models import (
    ACTIVE, ANCHORS, CANCELLED, COMPLETED, DONE, HANDED, OPEN, PAUSED, PAUSED_TP, SCHEDULED, SKIPPED,
    STEP_KINDS, Enrollment, Journey, JourneyStep, Touchpoint,
)
from retention.journeys.planning import Planner, _plan_touchpoints, parse_hhmm

MAX_CALL_ATTEMPTS = 3


class JourneyError(ValueError):
    """A journey definition or change that cannot be accepted; the message names the field."""


# --- Control by staff --------------------------------------------------------------------------

def pause(session: Session, enrollment: Enrollment, now: dt.datetime) -> None:
    """Hold an enrollment: nothing is handed out while paused; events keep being recorded."""
    if enrollment.status != ACTIVE:
        raise JourneyError(f"status: only an active enrollment can be paused (it is {enrollment.status})")
    enrollment.status, enrollment.paused_at = PAUSED, now
    session.execute(update(Touchpoint).where(Touchpoint.enrollment_id == enrollment.id,
                                             Touchpoint.status.in_((SCHEDULED, OPEN)))
                    .values(status=PAUSED_TP).execution_options(synchronize_session=False))
    session.expire(enrollment, ["touchpoints"])


def resume(session: Session, enrollment: Enrollment, now: dt.datetime) -> dt.timedelta:
    """Resume a paused enrollment: its future steps move later by the length of the pause."""
    if enrollment.status != PAUSED or enrollment.paused_at is None:
        raise JourneyError(f"status: only a paused enrollment can be resumed (it is {enrollment.status})")
    length = now - enrollment.paused_at
    for tp in session.scalars(select(Touchpoint).where(Touchpoint.enrollment_id == enrollment.id,
                                                       Touchpoint.status == PAUSED_TP)):
        tp.due_at = calendar.shift(tp.due_at, length)
        tp.status = SCHEDULED
    enrollment.status, enrollment.paused_at = ACTIVE, None
    return length


def skip(session: Session, touchpoint: Touchpoint, now: dt.datetime, reason: str) -> None:
    """Skip one planned step, keeping why."""
    if touchpoint.status not in (SCHEDULED, OPEN, PAUSED_TP):
        raise JourneyError(f"status: a {touchpoint.status} step cannot be skipped")
    touchpoint.status, touchpoint.reason, touchpoint.completed_at = SKIPPED, reason or "skipped by staff", now
    complete_if_finished(session, touchpoint.enrollment, now)


def complete_if_finished(session: Session, enrollment: Enrollment, now: dt.datetime) -> bool:
    """Mark an enrollment completed once nothing is left to do."""
    if enrollment.status != ACTIVE:
        return False
    session.flush()
    left = session.scalar(select(func.count()).select_from(Touchpoint).where(
        Touchpoint.enrollment_id == enrollment.id, Touchpoint.status.in_((SCHEDULED, OPEN, PAUSED_TP))))
    if left == 0:
        enrollment.status, enrollment.ended_at = COMPLETED, now
        return True
    return False


# --- Journey definitions and versions ---------------------------------------------------------

EDIT_CHOICES = ("keep", "move", "new_only")


def validate_steps(steps: list[dict]) -> list[dict]:
    """Check step definitions; JourneyError names the step and field at fault."""
    if not steps:
        raise JourneyError("steps: a journey needs at least one step")
    keys = set()
    clean = []
    for i, step in enumerate(steps):
        where = f"steps[{i}]"
        key = (step.get("key") or "").strip()
        if not key or len(key) > 60:
            raise JourneyError(f"{where}.key: required, at most 60 characters")
        if key in keys:
            raise JourneyError(f"{where}.key: {key!r} is used twice")
        keys.add(key)
        if step.get("kind") not in STEP_KINDS:
            raise JourneyError(f"{where}.kind: must be one of {', '.join(STEP_KINDS)}")
        try:
            day = int(step.get("day_offset", 0))
        except (TypeError, ValueError):
            raise JourneyError(f"{where}.day_offset: must be a whole number of days") from None
        if not 0 <= day <= 365:
            raise JourneyError(f"{where}.day_offset: between 0 and 365")
        try:
            start, end = parse_hhmm(step.get("window_start", "10:00")), parse_hhmm(step.get("window_end", "18:00"))
        except (ValueError, AttributeError):
            raise JourneyError(f"{where}.window_start: times are HH:MM") from None
        if end <= start:
            raise JourneyError(f"{where}.window_end: must be after window_start")
        condition = step.get("condition")
        if isinstance(condition, str):
            try:
                condition = conditions.to_json(conditions.parse(condition)) if condition.strip() else None
            except conditions.RuleError as exc:
                raise JourneyError(f"{where}.condition: {exc}") from None
        elif condition:
            try:
                conditions.validate(condition)
            except conditions.RuleError as exc:
                raise JourneyError(f"{where}.condition: {exc}") from None
        clean.append({"key": key, "title": (step.get("title") or key.replace("_", " ").capitalize())[:200],
                      "day_offset": day, "kind": step["kind"], "window_start": f"{start:%H:%M}",
                      "window_end": f"{end:%H:%M}", "business_days": bool(step.get("business_days", True)),
                      "condition": condition or None, "script": step.get("script") or "",
                      "template_key": step.get("template_key") or None})
    return clean


def create_journey(session: Session, *, key: str, name: str, anchor: str, steps: list[dict], now: dt.datetime,
                   actor: str, exit_events=("sale.refunded", "customer.churned")) -> Journey:
    """A new journey (version 1)."""
    if anchor not in ANCHORS:
        raise JourneyError(f"anchor: must be one of {', '.join(ANCHORS)}")
    journey = Journey(key=key, version=1, is_current=True, name=name, anchor=anchor, exit_events=list(exit_events),
                      created_at=now, created_by=actor)
    for position, spec in enumerate(validate_steps(steps)):
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


def edit_impact(session: Session, key: str) -> dict[str, int]:
    """How many customers mid-way each choice would touch: keep / move / new entrants only."""
    count = lambda stmt: session.scalar(select(func.count()).select_from(stmt.subquery()))  # noqa: E731
    return {"keep": 0, "move": count(_running(session, key)), "new_only": count(_not_started(session, key))}


def edit_journey(session: Session, key: str, *, steps: list[dict], choice: str, now: dt.datetime, actor: str,
                 name: str | None = None, anchor: str | None = None) -> tuple[Journey, int]:
    """Save an edit as a new version; apply the admin's choice to customers mid-way.

    keep: everyone mid-way finishes on their version; new entrants get the new one.
    move: everyone mid-way has their future steps re-planned on the new version.
    new_only: only those mid-way who have not had a step yet move (they are new entrants in effect).
    Returns the new version and how many enrollments moved.
    """
    if choice not in EDIT_CHOICES:
        raise JourneyError(f"choice: must be one of {', '.join(EDIT_CHOICES)}")
    old = current_version(session, key)
    if old is None:
        raise JourneyError(f"key: no journey {key!r}")
    anchor = anchor or old.anchor
    if anchor not in ANCHORS:
        raise JourneyError(f"anchor: must be one of {', '.join(ANCHORS)}")
    clean = validate_steps(steps)
    new = Journey(key=key, version=old.version + 1, is_current=True, name=name or old.name, trigger=old.trigger,
                  anchor=anchor, exit_events=list(old.exit_events), active=old.active, created_at=now,
                  created_by=actor)
    for position, spec in enumerate(clean):
        new.steps.append(JourneyStep(position=position, **spec))
    old.is_current = False
    session.add(new)
    session.flush()
    if choice == "keep":
        return new, 0
    stmt = _running(session, key) if choice == "move" else _not_started(session, key)
    moving = session.scalars(stmt.where(Enrollment.journey_id != new.id)).all()
    planner = Planner(session)
    for enrollment in moving:
        session.execute(update(Touchpoint).where(
            Touchpoint.enrollment_id == enrollment.id, Touchpoint.status.in_((SCHEDULED, PAUSED_TP)))
            .values(status=CANCELLED, reason=f"moved to version {new.version}", completed_at=now)
            .execution_options(synchronize_session=False))
        done_keys = {tp.step.key for tp in enrollment.touchpoints if tp.status in (OPEN, HANDED, DONE)}
        enrollment.journey = new
        future = [s for s in new.steps if s.key not in done_keys]
        planned = _plan_touchpoints(planner, enrollment, future, enrollment.customer, enrollment.anchor_at, now,
                                    only_future=True)
        if enrollment.status == PAUSED:
            for tp in planned:
                tp.status = PAUSED_TP
    planner.finish()
    return new, len(moving)


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
                          anchor=DEFAULT_JOURNEY["anchor"], steps=DEFAULT_JOURNEY["steps"], now=now, actor="seed")
