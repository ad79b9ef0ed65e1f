"""Step 3, respond fast: a case's first-response and resolution targets, counted in business hours, and the queue.

Targets come from the severity (COMPLAINT_SLA_HOURS: business hours to the first response and to a solution per
severity); a case in an urgent category (COMPLAINT_URGENT_CATEGORIES: outages, deadlines) counts one severity
higher, and a high-roller's targets are shorter (COMPLAINT_HIGH_ROLLER_FACTOR, halved by default). A high-roller
is a customer staff typed so, or one whose largest purchase is high for the business (the rule of step 2's
suggestion, complaints/types.py). Hours are counted in the owner's calendar: their working hours in their time
zone, the weekends and public holidays of their country (journeys/calendar.py); a case without an owner, or an
owner without a country, uses COMPLAINT_CALENDAR.

Met: the first response when the case leaves `new` (any move; a case opened from a call has been answered: the
caller is speaking with the customer); the resolution when a solution is offered. A reopened case owes a new
solution, counted from the reopening. An owner change counts the same hours again on the new owner's calendar;
after a breach (a target passed unmet), the new owner's targets start at the change (a take-over).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app
from sqlalchemy import case as sql_case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from retention.complaints import service
from retention.complaints.models import (
    ACKNOWLEDGED, CLOSED, INVESTIGATING, NEW, SEVERITIES, SOLUTION_OFFERED, VERIFIED, CaseChange, Complaint)
from retention.customers.models import Customer, Sale
from retention.journeys import calendar

FIRST_RESPONSE, RESOLUTION = "first_response", "resolution"
TARGETS = (FIRST_RESPONSE, RESOLUTION)
# While a case is in one of these, its solution is still owed.
SOLVING = (NEW, ACKNOWLEDGED, INVESTIGATING)
REOPENED_FROM = (SOLUTION_OFFERED, VERIFIED, CLOSED)


@dataclass(frozen=True)
class Policy:
    """The settings targets are computed from (config keys COMPLAINT_*; tests build their own)."""

    hours: dict  # severity -> (first response, resolution) in business hours
    urgent_categories: tuple[str, ...] = ("outage", "deadline")
    high_roller_factor: Decimal = Decimal("0.5")
    default_calendar: dict | None = None  # {"country", "timezone", "work_start", "work_end"}
    near_breach_hours: int = 2


def policy() -> Policy:
    """The app's policy (config)."""
    cfg = current_app.config
    return Policy(hours=cfg["COMPLAINT_SLA_HOURS"], urgent_categories=tuple(cfg["COMPLAINT_URGENT_CATEGORIES"]),
                  high_roller_factor=cfg["COMPLAINT_HIGH_ROLLER_FACTOR"], default_calendar=cfg["COMPLAINT_CALENDAR"],
                  near_breach_hours=cfg["COMPLAINT_NEAR_BREACH_HOURS"])


def effective_severity(severity: str, category: str, urgent_categories) -> str:
    """The severity targets are read for: one step higher for an urgent category (outages and deadlines first)."""
    rank = SEVERITIES.index(severity) if severity in SEVERITIES else SEVERITIES.index("medium")
    if category in urgent_categories:
        rank = min(rank + 1, len(SEVERITIES) - 1)
    return SEVERITIES[rank]


def target_hours(severity: str, category: str, *, high_roller: bool, rules: Policy) -> tuple[Decimal, Decimal]:
    """(first response, resolution) business hours for a case of this severity and category."""
    first, resolution = rules.hours[effective_severity(severity, category, rules.urgent_categories)]
    if high_roller:
        first, resolution = first * rules.high_roller_factor, resolution * rules.high_roller_factor
    return Decimal(first), Decimal(resolution)


def _time(text: str | None, default: str) -> dt.time:
    try:
        return dt.time.fromisoformat(text or default)
    except ValueError:
        return dt.time.fromisoformat(default)


def calendar_for(owner, rules: Policy) -> calendar.LocalWindow:
    """The owner's working hours, zone and country; the company's calendar for no owner (or bad hours)."""
    default = rules.default_calendar or {"country": None, "timezone": "UTC", "work_start": "09:00",
                                         "work_end": "17:00"}
    fallback = calendar.LocalWindow(tz=default["timezone"], start=_time(default["work_start"], "09:00"),
                                    end=_time(default["work_end"], "17:00"), country=default.get("country"))
    if owner is None:
        return fallback
    try:
        return calendar.LocalWindow(tz=owner.timezone or "UTC", start=_time(owner.work_start, "09:00"),
                                    end=_time(owner.work_end, "17:00"), country=owner.country or fallback.country)
    except ValueError:  # end before start, unknown zone: the company's calendar rather than no target
        return fallback


def is_high_roller(session: Session, customer: Customer) -> bool:
    """Typed high-roller by staff, or a largest purchase high for the business (complaints/types.py's rule)."""
    from retention.complaints import types

    if customer.customer_type == "high_roller":
        return True
    sale = session.scalar(select(Sale).where(Sale.customer_id == customer.id, Sale.refunded_at.is_(None))
                          .order_by(Sale.amount.desc()).limit(1))
    if sale is None:
        return False
    minimum = (current_app.config.get("COMPLAINT_HIGH_ROLLER_MIN") or {}).get(sale.currency)
    if minimum is not None and sale.amount >= minimum:
        return True
    return types.in_top_tenth(session, sale.currency, sale.amount)


def clock_start(session: Session, case: Complaint) -> dt.datetime:
    """When the solution target starts counting: the last reopening, else the opening."""
    reopened = session.scalar(select(func.max(CaseChange.at)).where(CaseChange.case_id == case.id,
                                                                    CaseChange.action == "reopened"))
    return max(reopened, case.opened_at) if reopened is not None else case.opened_at


def set_targets(session: Session, case: Complaint, *, restart_at: dt.datetime | None = None,
                rules: Policy | None = None) -> None:
    """Put the case's targets on it, in its owner's calendar; `restart_at`: unmet targets count from then."""
    rules = rules or policy()
    first, resolution = target_hours(case.severity, case.category, rules=rules,
                                     high_roller=is_high_roller(session, case.customer))
    window = calendar_for(case.owner, rules)
    if restart_at is not None:
        if case.first_response_at is None:
            case.first_response_due_at = calendar.add_business_hours(restart_at, first, window)
        case.resolution_due_at = calendar.add_business_hours(restart_at, resolution, window)
        return
    case.first_response_due_at = calendar.add_business_hours(case.opened_at, first, window)
    case.resolution_due_at = calendar.add_business_hours(clock_start(session, case), resolution, window)


def unmet(case: Complaint) -> list[tuple[str, dt.datetime]]:
    """The targets still to meet, (target, due at), soonest first; none once a solution is offered or it closed."""
    found = []
    if case.status not in SOLVING:
        return found
    if case.first_response_at is None and case.first_response_due_at is not None:
        found.append((FIRST_RESPONSE, case.first_response_due_at))
    if case.resolution_due_at is not None:
        found.append((RESOLUTION, case.resolution_due_at))
    return sorted(found, key=lambda item: item[1])


def breach(case: Complaint, now: dt.datetime) -> tuple[str, dt.datetime] | None:
    """The latest target passed unmet at `now`, or None (a case breaching both is escalated once, for the later)."""
    passed = [(target, due) for target, due in unmet(case) if due <= now]
    return passed[-1] if passed else None


@dataclass
class QueueItem:
    """A case in the queue: its nearest unmet target and how much business time is left (negative: overdue)."""

    case: Complaint
    target: str | None
    due_at: dt.datetime | None
    left: dt.timedelta | None
    breached: bool
    near: bool

    @property
    def escalated(self) -> bool:
        return bool(self.case.escalated_at and self.due_at and self.case.escalated_at >= self.due_at)


def item_for(case: Complaint, now: dt.datetime, rules: Policy) -> QueueItem:
    """The case as the queue shows it at `now`."""
    targets = unmet(case)
    if not targets:
        return QueueItem(case, None, None, None, False, False)
    target, due = targets[0]
    left = calendar.business_hours_between(now, due, calendar_for(case.owner, rules))
    breached = due <= now
    near = not breached and left <= dt.timedelta(hours=rules.near_breach_hours)
    return QueueItem(case, target, due, left, breached, near)


def _nearest_due():
    """SQL: the case's nearest unmet target (first response while unmet, else the solution)."""
    return sql_case((Complaint.first_response_at.is_(None), Complaint.first_response_due_at),
                    else_=Complaint.resolution_due_at)


def queue(session: Session, now: dt.datetime, *, owner_id: int | None = None, limit: int = 200,
          rules: Policy | None = None) -> list[QueueItem]:
    """Open cases whose solution is still owed, what is due first first (cases without targets last)."""
    rules = rules or policy()
    nearest = _nearest_due()
    stmt = (select(Complaint).where(Complaint.status.in_(SOLVING))
            .options(selectinload(Complaint.customer), selectinload(Complaint.owner))
            .order_by(nearest.is_(None), nearest, Complaint.id).limit(limit))
    if owner_id is not None:
        stmt = stmt.where(Complaint.owner_id == owner_id)
    return [item_for(case, now, rules) for case in session.scalars(stmt)]


def attention(session: Session, owner_id: int, now: dt.datetime, rules: Policy | None = None) -> list[QueueItem]:
    """The person's cases past a target or near one (My calls shows them first)."""
    rules = rules or policy()
    soon = now + dt.timedelta(days=4)  # wide enough for the near-breach hours over a long weekend
    nearest = _nearest_due()
    cases = session.scalars(select(Complaint).where(
        Complaint.status.in_(SOLVING), Complaint.owner_id == owner_id, nearest.is_not(None), nearest <= soon)
        .options(selectinload(Complaint.customer), selectinload(Complaint.owner)).order_by(nearest, Complaint.id)
        .limit(50))
    return [item for item in (item_for(case, now, rules) for case in cases) if item.breached or item.near]


# --- hooks (registered in complaints/registration.py) ---------------------------------------------------------------


def on_open(session: Session, case: Complaint, now: dt.datetime) -> None:
    """Targets for a new case; a case opened from a call was answered as it opened."""
    if case.source == "call" and case.first_response_at is None:
        case.first_response_at = case.opened_at
    set_targets(session, case)


def on_status(session: Session, case: Complaint, now: dt.datetime, before: str, to: str) -> None:
    """Leaving `new` is the first response; a reopened case owes a new solution, counted from now."""
    if before == NEW and case.first_response_at is None:
        case.first_response_at = now
    if before in REOPENED_FROM and to == INVESTIGATING:
        set_targets(session, case, restart_at=now)


def on_owner(session: Session, case: Complaint, now: dt.datetime, previous) -> None:
    """The new owner's calendar counts the same hours; after a breach they start counting now (a take-over)."""
    if breach(case, now) is not None:
        set_targets(session, case, restart_at=now)
    else:
        set_targets(session, case)


def register() -> None:
    for hooks, hook in ((service.ON_OPEN, on_open), (service.ON_STATUS, on_status), (service.ON_OWNER, on_owner)):
        if hook not in hooks:
            hooks.append(hook)


def breached_filter(now: dt.datetime):
    """SQL: an open case with a target passed unmet that has not been escalated for it (escalation.py)."""
    first = (Complaint.first_response_at.is_(None) & (Complaint.first_response_due_at <= now)
             & or_(Complaint.escalated_at.is_(None), Complaint.escalated_at < Complaint.first_response_due_at))
    solution = ((Complaint.resolution_due_at <= now)
                & or_(Complaint.escalated_at.is_(None), Complaint.escalated_at < Complaint.resolution_due_at))
    return Complaint.status.in_(SOLVING) & or_(first, solution)
