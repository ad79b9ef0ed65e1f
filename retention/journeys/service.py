"""Journeys changed by people: pause, resume, skip, and new versions of a journey (with the default one).

Every function takes `now`; nothing here reads the clock.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
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



def N_(message: str) -> str:
    """Marks a message for extraction (babel.cfg); it is translated where it is shown (JourneyError.localized)."""
    return message


class Where:
    """Which step a problem is in: counted from 1 and named by its title (else its key)."""

    def __init__(self, number: int, name: str = ""):
        self.number, self.name = number, name

    def __str__(self) -> str:  # the English form of the API and logs: "step 3 (How is it going?)"
        return f"step {self.number} ({self.name})" if self.name else f"step {self.number}"

    def localized(self) -> str:
        from flask_babel import gettext

        from retention.i18n import number

        if self.name:
            return gettext("Step %(number)s (%(title)s)", number=number(self.number), title=self.name)
        return gettext("Step %(number)s", number=number(self.number))


class Names(list):
    """Machine keys listed in a message: "en, ar" in English (API), their labels on pages ("Arabic, Persian")."""

    def __init__(self, keys, labels: dict):
        super().__init__(keys)
        self.labels = labels

    def __str__(self) -> str:
        return ", ".join(self)

    def localized(self) -> str:
        from flask_babel import gettext

        return gettext(", ").join(str(self.labels.get(k, k)) for k in self)


class JourneyError(ValueError):
    """A journey definition or change that cannot be accepted (422); the message names the step and field.

    `message` is English with named placeholders filled from `params` (marked with N_ for extraction);
    `where` the step (Where) and `field` the machine name of the field. str(exc) is the English text of the
    API and logs ("step 3 (How is it going?): day_offset: between 0 and 365"); `localized()` the same in
    the reader's language with the field's label ("Step 3 (How is it going?), Day: between 0 and 365").
    """

    def __init__(self, message: str, *, where=None, field: str | None = None, labels: dict | None = None,
                 **params):
        self.msgid, self.params, self.where, self.field, self.labels = message, params, where, field, labels or {}
        text = message % params if params else message
        super().__init__(": ".join([*(str(part) for part in (where, field) if part), text]))

    def localized(self) -> str:
        from flask_babel import gettext

        params = {k: (self.labels[k].get(v, v) if k in self.labels else v.localized() if hasattr(v, "localized")
                      else v) for k, v in self.params.items()}
        problem = gettext(self.msgid, **params) if params else gettext(self.msgid)
        field = str(FIELD_LABELS.get(self.field, self.field)) if self.field else ""
        where = self.where.localized() if isinstance(self.where, Where) else str(self.where or "")
        if where and field:
            return gettext("%(step)s, %(field)s: %(problem)s", step=where, field=field, problem=problem)
        if where or field:
            return gettext("%(subject)s: %(problem)s", subject=where or field, problem=problem)
        return problem


class JourneyNotFound(JourneyError, NotFound):
    """No such journey, enrollment or step (404)."""


class JourneyStateError(JourneyError, Conflict):
    """The change does not fit the current state, e.g. resuming what is not paused (409)."""


# --- Control by staff --------------------------------------------------------------------------

def _status_labels(of: str) -> dict:
    """Statuses in the reader's words, for the errors below (wording.py holds the labels)."""
    from retention.journeys import wording

    return {"status": wording.ENROLLMENT_STATUS_LABELS if of == "enrollment" else wording.TOUCHPOINT_STATUS_LABELS}


def pause(session: Session, enrollment: Enrollment, now: dt.datetime, *, actor: str) -> None:
    """Hold an enrollment: nothing is handed out while paused; events keep being recorded.

    Each touchpoint remembers its status (an open call goes back open on resume).
    """
    if enrollment.status != ACTIVE:
        raise JourneyStateError(N_("only an active enrollment can be paused (it is %(status)s)"), field="status",
                                status=enrollment.status, labels=_status_labels("enrollment"))
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
        raise JourneyStateError(N_("only a paused enrollment can be resumed (it is %(status)s)"), field="status",
                                status=enrollment.status, labels=_status_labels("enrollment"))
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
        raise JourneyStateError(N_("a step that is %(status)s cannot be skipped"), field="status",
                                status=touchpoint.status, labels=_status_labels("touchpoint"))
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
    # NOT EXISTS stops at the first pending touchpoint found.
    pending = (select(Touchpoint.id).where(Touchpoint.enrollment_id == Enrollment.id,
                                           Touchpoint.status.in_((*PENDING, CLAIMING))).exists())
    if ids and session.get_bind().dialect.name == "postgresql":
        # One statement for the whole batch (one array parameter): find and complete at once.
        return list(session.scalars(
            update(Enrollment).where(id_in(session, Enrollment.id, ids), Enrollment.status == ACTIVE, ~pending)
            .values(status=COMPLETED, ended_at=now).returning(Enrollment.id)
            .execution_options(synchronize_session=False)))
    for chunk in range(0, len(ids), 1000):  # SQLite caps bound parameters
        part = ids[chunk:chunk + 1000]
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
    if enrollment is None:  # an ad-hoc call (retention/calls/adhoc.py) belongs to no enrollment
        return False
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
               "scripts", "script", "template_key", "channel")
# How an NPS survey step sends its survey: email when the customer may be emailed, else a letter; or only one.
SURVEY_CHANNELS = ("auto", "email", "letter")
# The languages a call script is read aloud in (a step's `scripts`; the old single `script` is its English one).
SCRIPT_LANGUAGES = ("en", "ar", "fa")
_KEY = re.compile(r"[A-Za-z0-9_-]{1,60}", re.ASCII)
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)", re.ASCII)
_WHOLE = re.compile(r"\+?\d{1,6}", re.ASCII)


# Each step field as a person reads it (errors on pages name the field by its label, the API by its name).

FIELD_LABELS = {
    "key": _l("Key"), "title": _l("Title"), "day_offset": _l("Day"), "kind": _l("What"),
    "window_start": _l("From"), "window_end": _l("Until"), "business_days": _l("Business days"),
    "condition": _l("Condition"), "script": _l("Script"), "scripts": _l("Script"),
    "template_key": _l("Letter template"), "channel": _l("Sent by"), "name": _l("Name"), "anchor": _l("Counted from"),
    "choice": _l("Customers already on this journey"), "steps": _l("Steps"), "rows": _l("Steps"),
    "version": _l("Version"), "status": _l("Status"),
}
# Each step kind as a person reads it.
KIND_LABELS = {"call": _l("Call"), "nps_survey": _l("NPS survey"), "letter": _l("Letter"),
               "referral_offer": _l("Referral offer"), "email": _l("Email")}


def _step_name(number: int, step) -> Where:
    title = step.get("title") if isinstance(step, dict) else None
    key = step.get("key") if isinstance(step, dict) else None
    name = (title.strip() if isinstance(title, str) else "") or (key.strip() if isinstance(key, str) else "")
    return Where(number, name[:60])


def _text(where, field: str, value, limit: int, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise JourneyError(N_("must be text"), where=where, field=field)
    if len(value) > limit:
        raise JourneyError(N_("at most %(limit)s characters"), where=where, field=field, limit=limit)
    return value


def _rule_error(where, exc: "conditions.RuleError") -> JourneyError:
    """A rule that cannot be read, in words: an unknown fact lists the facts there are."""
    found = re.match(r"unknown fact '(\w+)'", str(exc))
    if found:
        return JourneyError(N_("%(fact)s is not a fact; you can use: %(facts)s"), where=where, field="condition",
                            fact=found.group(1), facts=", ".join(available_facts()))
    if exc.position is not None:
        return JourneyError(N_("the rule cannot be read at character %(position)s: %(detail)s"), where=where,
                            field="condition", position=exc.position + 1, detail=str(exc))
    return JourneyError(N_("the rule cannot be read: %(detail)s"), where=where, field="condition", detail=str(exc))


def available_facts() -> list[str]:
    """The facts a step condition may use (those the language knows, less those nothing fills yet)."""
    return [name for name in conditions.KNOWN_FACTS if name not in conditions.NOT_AVAILABLE_YET]


def _clean_step(where: Where, step: dict) -> dict:
    unknown = sorted(str(name) for name in step if name not in STEP_FIELDS)
    if unknown:
        raise JourneyError(N_("not a step field (fields: %(fields)s)"), where=where, field=unknown[0][:40],
                           fields=", ".join(STEP_FIELDS))
    key = _text(where, "key", step.get("key"), 200).strip()
    if not key:
        raise JourneyError(N_("required (letters, digits, _ and -, at most 60)"), where=where, field="key")
    if not _KEY.fullmatch(key):
        raise JourneyError(N_("letters, digits, _ and - only, at most 60 characters"), where=where, field="key")
    title = _text(where, "title", step.get("title"), 200).strip() or key.replace("_", " ").capitalize()
    kind = step.get("kind")
    built = [k for k in STEP_KINDS if k not in NOT_BUILT_KINDS]
    if kind in NOT_BUILT_KINDS:
        raise JourneyError(N_("%(kind)s steps are not built yet (use one of %(kinds)s)"), where=where, field="kind",
                           kind=kind, kinds=", ".join(built), labels={"kind": KIND_LABELS})
    if kind not in STEP_KINDS:
        raise JourneyError(N_("must be one of %(kinds)s"), where=where, field="kind", kinds=", ".join(built))
    day = step.get("day_offset")
    if isinstance(day, str) and _WHOLE.fullmatch(day.strip()):
        day = int(day.strip())
    if isinstance(day, bool) or not isinstance(day, int):
        raise JourneyError(N_("required, a whole number of days from 0 to 365"), where=where, field="day_offset")
    if not 0 <= day <= 365:
        raise JourneyError(N_("between 0 and 365"), where=where, field="day_offset")
    times = {}
    for field, default in (("window_start", "10:00"), ("window_end", "18:00")):
        value = step.get(field)
        value = default if value is None or value == "" else value
        if not isinstance(value, str) or not _HHMM.fullmatch(value.strip()):
            raise JourneyError(N_("a time as HH:MM (00:00 to 23:59)"), where=where, field=field)
        times[field] = parse_hhmm(value.strip())
    if times["window_end"] <= times["window_start"]:
        raise JourneyError(N_("must be later than the start of the window (window_start)"), where=where, field="window_end")
    business_days = step.get("business_days", True)
    if business_days is None:
        business_days = True
    if not isinstance(business_days, bool):
        raise JourneyError(N_("true or false"), where=where, field="business_days")
    condition = step.get("condition")
    try:
        if isinstance(condition, str):
            if len(condition) > MAX_CONDITION_TEXT:
                raise JourneyError(N_("at most %(limit)s characters"), where=where, field="condition",
                                   limit=MAX_CONDITION_TEXT)
            condition = conditions.to_json(conditions.parse(condition)) if condition.strip() else None
        elif isinstance(condition, dict):
            conditions.validate(condition)
        elif condition is not None:
            raise JourneyError(N_("a rule as text (latest_nps >= 9) or its JSON form"), where=where,
                               field="condition")
    except conditions.RuleError as exc:
        raise _rule_error(where, exc) from None
    for name in conditions.unavailable_facts(condition):
        raise JourneyError(N_("fact '%(fact)s' is not available yet"), where=where, field="condition", fact=name)
    scripts = _clean_scripts(where, step.get("scripts"), step.get("script"))
    template_key = _text(where, "template_key", step.get("template_key"), 200).strip() or None
    if template_key is not None and not _KEY.fullmatch(template_key):
        raise JourneyError(N_("letters, digits, _ and - only, at most 60 characters"), where=where,
                           field="template_key")
    # A survey on paper names its letter; an email step sends a letter template's text as an email.
    if template_key is not None and kind not in ("letter", "nps_survey", "email"):
        raise JourneyError(N_("only letter steps use a letter template"), where=where, field="template_key")
    channel = _text(where, "channel", step.get("channel"), 20).strip() or None
    if channel is not None and kind != "nps_survey":
        raise JourneyError(N_("only survey steps choose how they are sent"), where=where, field="channel")
    if channel is not None and channel not in SURVEY_CHANNELS:
        raise JourneyError(N_("must be one of %(channels)s"), where=where, field="channel",
                           channels=", ".join(SURVEY_CHANNELS))
    return {"key": key, "title": title, "day_offset": day, "kind": kind,
            "window_start": f"{times['window_start']:%H:%M}", "window_end": f"{times['window_end']:%H:%M}",
            "business_days": business_days, "condition": condition or None, "scripts": scripts,
            "template_key": template_key, "channel": channel}


def _clean_scripts(where, scripts, script) -> dict:
    """{language: text} for en/ar/fa (blank ones dropped); the old single `script` is the English one."""
    if scripts is None:
        scripts = {}
    if not isinstance(scripts, dict):
        raise JourneyError(N_("an object of language: text (%(languages)s)"), where=where, field="scripts",
                           languages=", ".join(SCRIPT_LANGUAGES))
    clean = {}
    for language, text in scripts.items():
        if language not in SCRIPT_LANGUAGES:
            raise JourneyError(N_("'%(language)s' is not one of %(languages)s"), where=where, field="scripts",
                               language=str(language)[:10], languages=", ".join(SCRIPT_LANGUAGES))
        text = _text(where, f"scripts.{language}", text, MAX_SCRIPT).strip()
        if text:
            clean[language] = text
    english = _text(where, "script", script, MAX_SCRIPT).strip()
    if english and "en" not in clean:
        clean["en"] = english
    return {language: clean[language] for language in SCRIPT_LANGUAGES if language in clean}


def validate_steps(steps, session: Session | None = None) -> list[dict]:
    """Check step definitions, for the edit page, the API and the seed alike.

    Errors are JourneyError naming the step (counted from 1, by its title) and the field. With a
    session, the check its kind's feature registered also runs (a letter step's template must exist
    in every letter language: retention/postal/registration.py).
    """
    if not isinstance(steps, list) or not steps:
        raise JourneyError(N_("a journey needs at least one step"), field="steps")
    if len(steps) > MAX_STEPS:
        raise JourneyError(N_("at most %(limit)s steps"), field="steps", limit=MAX_STEPS)
    keys = set()
    clean = []
    for number, step in enumerate(steps, start=1):
        where = _step_name(number, step)
        if not isinstance(step, dict):
            raise JourneyError(N_("must be an object with key, kind and day_offset"), where=where)
        spec = _clean_step(where, step)
        if spec["key"] in keys:
            raise JourneyError(N_("'%(key)s' is used by an earlier step"), where=where, field="key", key=spec["key"])
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
        raise JourneyError(N_("must not be blank"), field="name")
    if len(name.strip()) > 200:
        raise JourneyError(N_("at most %(limit)s characters"), field="name", limit=200)
    return name.strip()


def create_journey(session: Session, *, key: str, name: str, anchor: str, steps: list[dict], now: dt.datetime,
                   actor: str, exit_events=("sale.refunded", "customer.churned"),
                   check_templates: bool = True) -> Journey:
    """A new journey (version 1). The seed creates its journey before its letter templates, so it skips that check."""
    if anchor not in ANCHORS:
        raise JourneyError(N_("must be one of %(anchors)s"), field="anchor", anchors=", ".join(ANCHORS))
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise JourneyError(N_("letters, digits, _ and - only, at most 60 characters"), field="key")
    journey = Journey(key=key, version=1, is_current=True, name=_journey_name(name), anchor=anchor,
                      exit_events=list(exit_events), created_at=now, created_by=actor, created_by_id=staff_id(actor))
    for position, spec in enumerate(validate_steps(steps, session if check_templates else None)):
        journey.steps.append(JourneyStep(position=position, **spec))
    session.add(journey)
    return journey


def current_version(session: Session, key: str) -> Journey | None:
    return session.scalar(select(Journey).where(Journey.key == key, Journey.is_current.is_(True)))


def _running(session: Session, key: str):
    return select(Enrollment).join(Journey).where(Journey.key == key, Enrollment.status.in_((ACTIVE, PAUSED)))


def _not_started(session: Session, key: str):
    started = select(Touchpoint.enrollment_id).where(Touchpoint.status.in_((OPEN, HANDED, DONE)),
                                                     Touchpoint.enrollment_id.is_not(None))  # no NULL in NOT IN
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
                 name: str | None = None, anchor: str | None = None,
                 restored_from: int | None = None) -> tuple[Journey, MoveSummary]:
    """Save an edit as a new version; apply the admin's choice to customers mid-way.

    keep: everyone mid-way finishes on their version; new entrants get the new one.
    move: everyone mid-way has their future steps re-planned on the new version.
    new_only: only those mid-way who have not had a step yet move (they are new entrants in effect).
    Work a person holds, and what is already due, is never taken away (see _move_enrollment). Each
    moved customer gets one audit entry (shown on their timeline). Returns the version and the summary.
    """
    if choice not in EDIT_CHOICES:
        raise JourneyError(N_("must be one of %(choices)s"), field="choice", choices=", ".join(EDIT_CHOICES))
    old = current_version(session, key)
    if old is None:
        raise JourneyNotFound(f"key: no journey {key!r}")
    anchor = anchor or old.anchor
    if anchor not in ANCHORS:
        raise JourneyError(N_("must be one of %(anchors)s"), field="anchor", anchors=", ".join(ANCHORS))
    name = _journey_name(name)
    if restored_from is not None and (not isinstance(restored_from, int) or not 0 < restored_from <= old.version):
        raise JourneyError(N_("no version %(version)s of this journey"), field="version", version=restored_from)
    clean = validate_steps(steps, session)
    new = Journey(key=key, version=old.version + 1, is_current=True, name=name or old.name, trigger=old.trigger,
                  anchor=anchor, exit_events=list(old.exit_events), active=old.active, created_at=now,
                  created_by=actor, created_by_id=staff_id(actor))
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
           changes={"version": new.version, "choice": choice, **total.as_dict(),
                    **({"restored_from": restored_from} if restored_from is not None else {})})
    return new, total


# --- Version history: who saved what, what changed, restore ----------------------------------------

def staff_id(actor: str) -> int | None:
    """The staff id in an audit actor ("staff:12" -> 12); None for the seed, the system, tests."""
    if isinstance(actor, str) and actor.startswith("staff:") and actor[6:].isdigit():
        return int(actor[6:])
    return None


def versions(session: Session, key: str) -> list[Journey]:
    """Every version of a journey, newest first, with its steps and author."""
    return list(session.scalars(select(Journey).where(Journey.key == key).order_by(Journey.version.desc())
                                .options(selectinload(Journey.steps), selectinload(Journey.author))))


def version(session: Session, key: str, number) -> Journey:
    """One version of a journey; JourneyNotFound naming the version when there is none."""
    found = None
    if isinstance(number, int) and not isinstance(number, bool) and 0 < number < 2**31:
        found = session.scalar(select(Journey).where(Journey.key == key, Journey.version == number))
    if found is None:
        raise JourneyNotFound(N_("no version %(version)s of this journey"), field="version", version=number)
    return found


# Compared between two versions, in this order (a step's script: every language it is read in).
DIFF_FIELDS = ("title", "day_offset", "kind", "window_start", "window_end", "business_days", "condition",
               "scripts", "template_key", "channel")


def _step_values(step: JourneyStep) -> dict:
    values = {name: getattr(step, name) for name in DIFF_FIELDS}
    values["condition"] = conditions.to_text(step.condition) if step.condition else ""
    values["scripts"] = dict(step.scripts or {})
    return values


@dataclass
class StepChange:
    """One step between two versions: added, removed, changed (its fields old -> new) or the same."""

    key: str
    title: str
    status: str                     # "added", "removed", "changed", "same"
    old_number: int | None = None   # counted from 1 in each version
    new_number: int | None = None
    fields: list[tuple[str, object, object]] = None  # (field, old, new) for a changed step

    @property
    def moved(self) -> bool:
        return self.status in ("changed", "same") and self.old_number != self.new_number


@dataclass
class JourneyDiff:
    old: Journey
    new: Journey
    name: tuple[str, str] | None
    anchor: tuple[str, str] | None
    steps: list[StepChange]

    def count(self, status: str) -> int:
        return sum(1 for s in self.steps if s.status == status)

    @property
    def changed(self) -> bool:
        return bool(self.name or self.anchor or any(s.status != "same" or s.moved for s in self.steps))


def diff(old: Journey, new: Journey) -> JourneyDiff:
    """What changed from `old` to `new`: name, anchor, and each step matched by its key (new order first,
    then the steps `new` no longer has)."""
    before = {s.key: (n, s) for n, s in enumerate(old.steps, start=1)}
    after = {s.key for s in new.steps}
    steps = []
    for number, step in enumerate(new.steps, start=1):
        if step.key not in before:
            steps.append(StepChange(step.key, step.title, "added", None, number, []))
            continue
        old_number, old_step = before[step.key]
        a, b = _step_values(old_step), _step_values(step)
        fields = [(name, a[name], b[name]) for name in DIFF_FIELDS if a[name] != b[name]]
        steps.append(StepChange(step.key, step.title, "changed" if fields else "same", old_number, number, fields))
    for key, (number, step) in before.items():
        if key not in after:
            steps.append(StepChange(key, step.title, "removed", number, None, []))
    return JourneyDiff(old, new, (old.name, new.name) if old.name != new.name else None,
                       (old.anchor, new.anchor) if old.anchor != new.anchor else None, steps)


def previous_of(history: list[Journey], journey: Journey) -> Journey | None:
    """The version saved just before `journey` in a history (newest first)."""
    older = [j for j in history if j.version < journey.version]
    return older[0] if older else None


def form_steps(journey: Journey) -> list[dict]:
    """A version's steps as step definitions (what validate_steps takes): restoring saves these again."""
    return [{"key": s.key, "title": s.title, "day_offset": s.day_offset, "kind": s.kind,
             "window_start": s.window_start, "window_end": s.window_end, "business_days": s.business_days,
             "condition": s.condition, "scripts": dict(s.scripts or {}), "template_key": s.template_key,
             "channel": s.channel}
            for s in journey.steps]


DEFAULT_JOURNEY = {
    "key": "first-90-days",
    "name": "First ninety days",
    "anchor": "delivery",
    "steps": [
        # Calendar days from the anchor; calls land on the next working hours of both sides anyway.
        {"key": "welcome_letter", "day_offset": 0, "kind": "letter", "template_key": "welcome",
         "business_days": False, "title": "Welcome letter signed by the owner"},
        {"key": "check_in_call", "day_offset": 2, "kind": "call", "title": "Check-in call",
         "scripts": {
             "en": "Hello, this is (your name). I'll be your personal contact from now on. I'm calling to make sure "
                   "your order arrived safely. Did everything arrive in good condition? Any trouble setting it up?",
             "ar": "مرحباً، معك (اسمك)، وسأكون جهة الاتصال الخاصة بك من الآن فصاعداً. أتصل لأطمئن أن طلبك وصل "
                   "بسلام. هل وصل كل شيء بحالة جيدة؟ وهل واجهت أي صعوبة في تركيبه أو تشغيله؟",
             "fa": "سلام، وقت‌تان بخیر. (نام شما) هستم و از این به بعد مسئول پیگیری کارهای شما هستم. تماس گرفتم "
                   "تا مطمئن شوم سفارش‌تان سالم به دست‌تان رسیده. همه‌چیز خوب بود؟ برای راه‌اندازی‌اش مشکلی نداشتید؟"}},
        {"key": "how_is_it_going_call", "business_days": False, "day_offset": 14, "kind": "call", "title": "How is it going?",
         "scripts": {
             "en": "Hi, it's (your name) again. It's been two weeks, so how are you getting on with it? What do you "
                   "like most so far? Is there anything that hasn't lived up to what you expected?",
             "ar": "مرحباً، معك (اسمك) مرة أخرى. مضى أسبوعان على استلامك الطلب، فكيف تجده حتى الآن؟ ما الذي أعجبك "
                   "فيه أكثر؟ وهل هناك شيء لم يكن على مستوى توقعاتك؟",
             "fa": "سلام، دوباره (نام شما) هستم. حدود دو هفته است که سفارش‌تان به دست‌تان رسیده؛ تا الان چطور بوده؟ "
                   "از چه چیزش بیشتر راضی هستید؟ چیزی هست که آن‌طور که انتظار داشتید نبوده باشد؟"}},
        {"key": "nps_day_30", "business_days": False, "day_offset": 30, "kind": "nps_survey", "title": "NPS survey (day 30)"},
        {"key": "detractor_recovery_call", "business_days": False, "day_offset": 31, "kind": "call", "title": "Recovery call",
         "condition": "nps_category == \"detractor\"",
         "scripts": {
             "en": "Thank you for being honest in our survey; it really helps us. Could you tell me what went wrong? "
                   "(Listen without interrupting.) Here is what I can do for you: (offer a concrete fix and when).",
             "ar": "شكراً لصراحتك في الاستبيان، فهذا يساعدنا كثيراً. هل يمكنك أن تخبرني بما لم يكن على ما يرام؟ "
                   "(استمع دون مقاطعة.) إليك ما أستطيع فعله من أجلك: (اعرض حلاً محدداً وموعده).",
             "fa": "از اینکه در نظرسنجی صادقانه نظرتان را گفتید ممنونم؛ واقعاً به ما کمک می‌کند. ممکن است بگویید "
                   "چه چیزی درست پیش نرفت؟ (بدون قطع کردن حرف‌شان گوش کنید.) کاری که می‌توانم برای‌تان انجام بدهم "
                   "این است: (یک راه‌حل مشخص و زمانش را بگویید)."}},
        {"key": "passive_call", "business_days": False, "day_offset": 32, "kind": "call", "title": "What would make it a 10?",
         "condition": "nps_category == \"passive\"",
         "scripts": {
             "en": "Thanks for answering our survey. You gave us a good score, and we'd love to earn a 10. "
                   "What's the one thing that would make it a 10 for you?",
             "ar": "شكراً لمشاركتك في الاستبيان. منحتنا تقييماً جيداً، ونتمنى أن نستحق العلامة الكاملة. "
                   "ما الشيء الذي لو تحسّن لجعل تقييمك عشرة من عشرة؟",
             "fa": "ممنون که در نظرسنجی شرکت کردید. به ما نمرهٔ خوبی دادید و دوست داریم نمرهٔ ده را بگیریم. "
                   "به نظرتان چه چیزی باید بهتر شود تا به ما ده بدهید؟"}},
        {"key": "check_in_day_45", "business_days": False, "day_offset": 45, "kind": "call", "title": "Day 45 check-in",
         "scripts": {
             "en": "Hi, it's (your name). It's been about six weeks, so I wanted to check in. Is everything still "
                   "working well? Is there anything I can help with, or any questions I can answer?",
             "ar": "مرحباً، معك (اسمك). مرّ نحو ستة أسابيع على استلامك الطلب، فأحببت أن أطمئن عليك. هل ما زال كل "
                   "شيء يعمل كما ينبغي؟ هل تحتاج إلى مساعدة في أي شيء، أو لديك سؤال أستطيع الإجابة عنه؟",
             "fa": "سلام، (نام شما) هستم. حدود شش هفته از خریدتان گذشته و خواستم حالی بپرسم. همه‌چیز هنوز خوب "
                   "کار می‌کند؟ کاری هست که بتوانم برای‌تان انجام بدهم یا سؤالی دارید؟"}},
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
