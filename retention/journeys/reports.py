"""Seeing the work: calls per owner per day against capacity, and where customers are in a journey."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from retention.customers.models import Customer
from retention.journeys import calendar
from retention.journeys.models import (
    ACTIVE, COMPLETED, EXITED, PAUSED, PENDING, Enrollment, Journey, JourneyStep, Touchpoint,
)
from retention.staff.models import StaffUser


def call_load(session: Session, now: dt.datetime, days: int = 28) -> dict:
    """Calls planned per onboarding owner per day (their own calendar) for the next `days` days."""
    first = now.astimezone(dt.timezone.utc).date()
    dates = [first + dt.timedelta(days=i) for i in range(days)]
    index = {d: i for i, d in enumerate(dates)}
    owners = session.scalars(select(StaffUser).where(StaffUser.role == "onboarding", StaffUser.active.is_(True))
                             .order_by(StaffUser.name)).all()
    rows = {o.id: {"owner": o, "capacity": o.daily_call_capacity, "counts": [0] * days, "fallbacks": 0}
            for o in owners}
    start = dt.datetime.combine(first, dt.time(0), dt.timezone.utc) - dt.timedelta(days=1)
    end = start + dt.timedelta(days=days + 2)
    zones = {o.id: calendar.time_zone(o.timezone) for o in owners}
    for owner_id, due in session.execute(
            select(Touchpoint.owner_id, Touchpoint.due_at).where(
                Touchpoint.kind == "call", Touchpoint.status.in_(PENDING),
                Touchpoint.owner_id.in_(list(rows)), Touchpoint.due_at >= start, Touchpoint.due_at < end)):
        i = index.get(due.astimezone(zones[owner_id]).date())
        if i is not None:
            rows[owner_id]["counts"][i] += 1
    peak = max([1] + [max(r["counts"]) for r in rows.values()] + [r["capacity"] for r in rows.values()])
    # Customers each owner was given without speaking their language (none of their speakers had room).
    from retention.journeys.owners import fallbacks_by_owner

    for owner_id, n in fallbacks_by_owner(session, rows).items():
        rows[owner_id]["fallbacks"] = n
    return {"days": dates, "rows": rows, "peak": peak}


def load_summary(load: dict) -> list[dict]:
    """Per owner, from a `call_load`: calls in the first week and in all, the busiest day, days over capacity."""
    summary = []
    for row in load["rows"].values():
        counts = row["counts"]
        busiest = max(range(len(counts)), key=lambda i: (counts[i], -i)) if counts else None
        summary.append({
            "owner": row["owner"], "capacity": row["capacity"], "week": sum(counts[:7]), "total": sum(counts),
            "busiest_day": load["days"][busiest] if busiest is not None and counts[busiest] else None,
            "busiest": counts[busiest] if busiest is not None else 0,
            "over": sum(1 for n in counts if n > row["capacity"]), "fallbacks": row.get("fallbacks", 0),
        })
    return summary


def journey_report(session: Session, key: str) -> dict:
    """Customers at each step (their next planned step), completed, exited, paused and silent."""
    journey_ids = select(Journey.id).where(Journey.key == key)
    nxt = (select(Touchpoint.enrollment_id, func.min(Touchpoint.due_at).label("next_due"))
           .join(Enrollment, Enrollment.id == Touchpoint.enrollment_id)
           .where(Touchpoint.status.in_(PENDING), Enrollment.journey_id.in_(journey_ids),
                  Enrollment.status.in_((ACTIVE, PAUSED)))
           .group_by(Touchpoint.enrollment_id).subquery())
    at_step = dict(session.execute(
        select(JourneyStep.key, func.count(func.distinct(Touchpoint.enrollment_id)))
        .select_from(Touchpoint)
        .join(nxt, and_(Touchpoint.enrollment_id == nxt.c.enrollment_id, Touchpoint.due_at == nxt.c.next_due))
        .join(JourneyStep, JourneyStep.id == Touchpoint.step_id)
        .where(Touchpoint.status.in_(PENDING)).group_by(JourneyStep.key)).all())
    by_status = dict(session.execute(select(Enrollment.status, func.count()).where(
        Enrollment.journey_id.in_(journey_ids)).group_by(Enrollment.status)).all())
    silent = session.scalar(select(func.count(func.distinct(Enrollment.customer_id))).join(
        Customer, Customer.id == Enrollment.customer_id).where(
        Enrollment.journey_id.in_(journey_ids), Customer.silent_at.is_not(None)))
    current = session.scalar(select(Journey).where(Journey.key == key, Journey.is_current.is_(True)))
    # Each step: its key, title, customers whose next step it is, and whether only an earlier version has it.
    steps = [{"key": s.key, "title": s.title, "count": at_step.get(s.key, 0), "earlier": False}
             for s in (current.steps if current else [])]
    known = {s["key"] for s in steps}
    steps += [{"key": k, "title": k, "count": n, "earlier": True} for k, n in sorted(at_step.items()) if k not in known]
    return {"journey": current, "steps": steps, "completed": by_status.get(COMPLETED, 0),
            "exited": by_status.get(EXITED, 0), "paused": by_status.get(PAUSED, 0),
            "active": by_status.get(ACTIVE, 0), "silent": silent or 0}
