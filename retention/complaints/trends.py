"""Step 5, log and learn: complaints per category per week, the alert when several customers raise the same
category within seven days, and the time to a first response and to a solution per month.

Weeks are ISO weeks (Monday to Sunday, UTC) and months calendar months in UTC, by when the case was opened. An
alert counts different customers (one customer complaining twice counts once) whose cases in the category were
opened in the seven days up to `now` (rolling), at COMPLAINT_TREND_THRESHOLD or more. Times are business hours
of the case owner's calendar (complaints/sla.py, what the targets count): the first response as recorded
(first_response_at), the solution as the first move to "solution offered"; median and 90th percentile (nearest
rank) of the cases opened that month which got there.
"""
from __future__ import annotations

import datetime as dt
import math
import statistics
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from retention.complaints import sla
from retention.complaints.models import SOLUTION_OFFERED, CaseChange, Complaint
from retention.journeys import calendar

ALERT_DAYS = 7


def week_start(day: dt.date) -> dt.date:
    """The Monday of the ISO week holding `day`."""
    return day - dt.timedelta(days=day.weekday())


def weekly_counts(session: Session, now: dt.datetime, weeks: int = 8) -> dict:
    """{"weeks": [Monday, ...] oldest first (this week last), "categories": {key: [count per week]}, "peak": n}."""
    this_week = week_start(now.astimezone(dt.timezone.utc).date())
    mondays = [this_week - dt.timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    since = dt.datetime.combine(mondays[0], dt.time(0), dt.timezone.utc)
    index = {monday: i for i, monday in enumerate(mondays)}
    counts: dict[str, list[int]] = {}
    for category, opened in session.execute(select(Complaint.category, Complaint.opened_at).where(
            Complaint.opened_at >= since, Complaint.opened_at <= now)):
        i = index.get(week_start(opened.astimezone(dt.timezone.utc).date()))
        if i is not None:
            counts.setdefault(category, [0] * weeks)[i] += 1
    ordered = dict(sorted(counts.items(), key=lambda item: (-sum(item[1]), item[0])))
    peak = max([1] + [n for row in ordered.values() for n in row])
    return {"weeks": mondays, "categories": ordered, "peak": peak}


def alerts(session: Session, now: dt.datetime, threshold: int, days: int = ALERT_DAYS) -> list[dict]:
    """Categories that `threshold` or more different customers raised in the `days` up to now, most first:
    [{"category", "customers", "cases", "since"}]."""
    since = now - dt.timedelta(days=days)
    rows = session.execute(
        select(Complaint.category, func.count(func.distinct(Complaint.customer_id)), func.count())
        .where(Complaint.opened_at > since, Complaint.opened_at <= now)
        .group_by(Complaint.category)
        .having(func.count(func.distinct(Complaint.customer_id)) >= threshold)).all()
    return [{"category": category, "customers": customers, "cases": cases, "since": since}
            for category, customers, cases in sorted(rows, key=lambda r: (-r[1], r[0]))]


def _hours(value: dt.timedelta) -> Decimal:
    return (Decimal(value.total_seconds()) / 3600).quantize(Decimal("0.1"))


def percentile(values: list[Decimal], p: int) -> Decimal | None:
    """The p-th percentile by nearest rank (a value that occurred); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def median(values: list[Decimal]) -> Decimal | None:
    return Decimal(statistics.median(values)).quantize(Decimal("0.1")) if values else None


def _month(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.timezone.utc).date().replace(day=1)


def response_times(session: Session, now: dt.datetime, months: int = 6, rules: sla.Policy | None = None) -> list[dict]:
    """Per month (the last `months`, oldest first): cases opened, how many got a first response / a solution,
    and the median and 90th percentile of each, in business hours."""
    rules = rules or sla.policy()
    first_month = _month(now)
    for _ in range(months - 1):
        first_month = (first_month - dt.timedelta(days=1)).replace(day=1)
    since = dt.datetime.combine(first_month, dt.time(0), dt.timezone.utc)
    solved = (select(CaseChange.case_id, func.min(CaseChange.at).label("at"))
              .where(CaseChange.to_status == SOLUTION_OFFERED).group_by(CaseChange.case_id).subquery())
    rows = session.execute(
        select(Complaint, solved.c.at).outerjoin(solved, solved.c.case_id == Complaint.id)
        .where(Complaint.opened_at >= since, Complaint.opened_at <= now)
        .options(selectinload(Complaint.owner))).all()
    per_month: dict[dt.date, dict] = {}
    month = first_month
    while month <= _month(now):
        per_month[month] = {"month": month, "opened": 0, "first": [], "solution": []}
        month = (month + dt.timedelta(days=32)).replace(day=1)
    for case, solved_at in rows:
        entry = per_month.get(_month(case.opened_at))
        if entry is None:
            continue
        entry["opened"] += 1
        window = calendar_of(case, rules)
        if case.first_response_at is not None and case.first_response_at <= now:
            entry["first"].append(_hours(calendar.business_hours_between(case.opened_at, case.first_response_at,
                                                                         window)))
        if solved_at is not None and solved_at <= now:
            entry["solution"].append(_hours(calendar.business_hours_between(case.opened_at, solved_at, window)))
    result = []
    for entry in per_month.values():
        first, solution = entry.pop("first"), entry.pop("solution")
        result.append({**entry, "responded": len(first), "first_median": median(first),
                       "first_p90": percentile(first, 90), "solved": len(solution),
                       "solution_median": median(solution), "solution_p90": percentile(solution, 90)})
    return result


def calendar_of(case: Complaint, rules: sla.Policy) -> calendar.LocalWindow:
    """The calendar a case's times are counted in (its owner's now, like its targets)."""
    return sla.calendar_for(case.owner, rules)


def figures(session: Session, now: dt.datetime, threshold: int, weeks: int = 8, months: int = 6) -> dict:
    """Everything the trends page and the figures API show."""
    return {"weekly": weekly_counts(session, now, weeks), "alerts": alerts(session, now, threshold),
            "times": response_times(session, now, months), "threshold": threshold, "now": now}
