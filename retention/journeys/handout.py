"""The tick's work: claim due touchpoints and hand each to its kind.

Claiming is one conditional UPDATE (`FOR UPDATE SKIP LOCKED` on PostgreSQL) inside the same
transaction that hands the touchpoints out, so two ticks never take the same row and a tick killed
half-way rolls back to where it started. Each handed-out kind writes a work row unique on the
touchpoint, so even a replay could not double it. The kinds, the facts conditions read and the gates are
registered by their features (retention/journeys/registry.py); this module imports none of them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from retention.customers.models import Sale
from retention.journeys import conditions, registry
from retention.journeys.models import (
    CLAIMING, HANDED, OPEN, SCHEDULED, SKIPPED, Enrollment, JourneyStep, Touchpoint,
)
from retention.journeys.service import complete_finished
from retention.queries import id_in

# Ids per statement: PostgreSQL takes them as one array parameter; SQLite caps bound parameters.
CHUNK = 5000




@dataclass
class HandoutResult:
    """Counts of one tick's handing out, by what happened."""

    claimed: int = 0
    handed: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    waiting: int = 0

    def as_dict(self) -> dict:
        return {"claimed": self.claimed, **{f"handed_{k}": v for k, v in sorted(self.handed.items())},
                "skipped": self.skipped, "waiting": self.waiting}


def _claim(session: Session, now: dt.datetime, limit: int) -> list:
    if session.get_bind().dialect.name == "postgresql":
        # Row locks only: no second row version, and the final UPDATE then skips the FK re-checks
        # PostgreSQL makes on rows already written by the same transaction.
        return session.execute(
            select(Touchpoint.id, Touchpoint.kind, Touchpoint.step_id, Touchpoint.customer_id,
                   Touchpoint.enrollment_id)
            .where(Touchpoint.status == SCHEDULED, Touchpoint.due_at <= now)
            .order_by(Touchpoint.due_at).limit(limit).with_for_update(skip_locked=True)).all()
    pick = (select(Touchpoint.id).where(Touchpoint.status == SCHEDULED, Touchpoint.due_at <= now)
            .order_by(Touchpoint.due_at).limit(limit))
    return session.execute(
        update(Touchpoint).where(Touchpoint.id.in_(pick.scalar_subquery())).values(status=CLAIMING)
        .returning(Touchpoint.id, Touchpoint.kind, Touchpoint.step_id, Touchpoint.customer_id,
                   Touchpoint.enrollment_id)
        .execution_options(synchronize_session=False)).all()


def _sales_of(session: Session, enrollment_ids) -> dict[int, tuple]:
    """Each enrollment's sale: id, amount, currency, category, delivery time (one query per chunk)."""
    ids = list(set(enrollment_ids))
    sales = {}
    for chunk in range(0, len(ids), CHUNK):
        for eid, sale_id, amount, currency, category, delivered in session.execute(
                select(Enrollment.id, Sale.id, Sale.amount, Sale.currency, Sale.category, Sale.delivered_at)
                .join(Sale, Enrollment.sale_id == Sale.id)
                .where(id_in(session, Enrollment.id, ids[chunk:chunk + CHUNK]))):
            sales[eid] = (sale_id, amount, currency, category, delivered)
    return sales


def _facts(session: Session, rows, steps: dict[int, JourneyStep], sales: dict[int, tuple],
           now: dt.datetime) -> dict[int, dict]:
    """Facts for the conditions, loaded for the whole batch (only customers whose step needs them).

    The sale's facts are the journey's own; the rest come from the features' registered fact loaders.
    """
    gated = registry.gated_kinds()
    needing = {r.customer_id for r in rows if steps[r.step_id].condition or r.kind in gated}
    if not needing:
        return {}
    loaded = [(source.defaults, source.load(session, needing)) for source in registry.FACTS]
    facts = {}
    for r in rows:
        if r.customer_id not in needing:
            continue
        _, amount, currency, category, delivered = sales.get(r.enrollment_id, (None, None, None, None, None))
        f = {"purchase_value": amount, "currency": currency, "category": category, "customer_type": None,
             "days_since_delivery": (now - delivered).days if delivered else None}
        for defaults, by_customer in loaded:
            f.update(by_customer.get(r.customer_id) or defaults)
        facts[r.id] = f
    return facts


def hand_out(session: Session, now: dt.datetime, limit: int = 5000) -> HandoutResult:
    """Claim up to `limit` due touchpoints and hand them out, in one transaction."""
    result = HandoutResult()
    rows = _claim(session, now, limit)
    if not rows:
        session.rollback()
        return result
    result.claimed = len(rows)
    step_ids = {r.step_id for r in rows}
    steps = {s.id: s for s in session.scalars(select(JourneyStep).where(JourneyStep.id.in_(step_ids)))}
    handouts, gated = registry.HANDOUTS, registry.gated_kinds()
    sales = _sales_of(session, [r.enrollment_id for r in rows
                                if steps[r.step_id].condition or r.kind in gated
                                or (r.kind in handouts and handouts[r.kind].needs_sale)])
    facts = _facts(session, rows, steps, sales, now)
    sale_of = {eid: sale[0] for eid, sale in sales.items()}

    to_open, handed, skipped = [], [], []
    waiting: dict[registry.Gate, list[int]] = {}
    work: dict[str, list[registry.Due]] = {}
    not_built: dict[str, list[int]] = {}  # reason -> touchpoints: stored before their kind or fact was refused
    for r in rows:
        step = steps[r.step_id]
        f = facts.get(r.id)
        if r.kind not in handouts:
            not_built.setdefault(f"{r.kind} steps are not built yet", []).append(r.id)
            continue
        missing = conditions.unavailable_facts(step.condition)
        if missing:
            not_built.setdefault(f"condition uses {', '.join(missing)}, not available yet", []).append(r.id)
            continue
        if step.condition and not conditions.evaluate(step.condition, f or {}):
            skipped.append(r.id)
            continue
        gate = next((g for g in registry.GATES if r.kind in g.kinds and f and f.get(g.fact)), None)
        if gate is not None:
            waiting.setdefault(gate, []).append(r.id)  # e.g. surveys and offers wait while a complaint is open
            continue
        kind = handouts.get(r.kind)
        if kind is not None and kind.opens:
            to_open.append(r.id)
        else:
            handed.append(r.id)
        if kind is not None and kind.write is not None:
            work.setdefault(r.kind, []).append(registry.Due(r.id, r.customer_id, r.enrollment_id,
                                                            sale_of.get(r.enrollment_id), step))
        result.handed[r.kind] = result.handed.get(r.kind, 0) + 1

    def set_status(ids, **values):
        for chunk in range(0, len(ids), CHUNK):
            session.execute(update(Touchpoint).where(id_in(session, Touchpoint.id, ids[chunk:chunk + CHUNK])).values(**values)
                            .execution_options(synchronize_session=False))

    set_status(to_open, status=OPEN, handed_at=now)
    set_status(handed, status=HANDED, handed_at=now, completed_at=now)
    set_status(skipped, status=SKIPPED, reason="condition was false when due", completed_at=now)
    for reason, ids in not_built.items():
        set_status(ids, status=SKIPPED, reason=reason, completed_at=now)
        skipped.extend(ids)
    for gate, ids in waiting.items():
        set_status(ids, status=SCHEDULED, due_at=now + gate.retry, reason=gate.reason)
    for kind, due in work.items():  # each kind writes its batch's work rows in one statement
        handouts[kind].write(session, due, now)
    result.skipped, result.waiting = len(skipped), sum(len(ids) for ids in waiting.values())
    # Only a journey whose step was just handed out or skipped can have finished (an open call is pending).
    closed = set(handed) | set(skipped)
    complete_finished(session, {r.enrollment_id for r in rows if r.id in closed}, now)
    session.commit()
    return result


def hand_out_all(session: Session, now: dt.datetime, limit: int = 5000, max_batches: int | None = None) -> dict:
    """Hand out batch after batch until nothing is due; returns the totals."""
    total = HandoutResult()
    batches = 0
    while max_batches is None or batches < max_batches:
        part = hand_out(session, now, limit)
        if part.claimed == 0:
            break
        batches += 1
        total.claimed += part.claimed
        total.skipped += part.skipped
        total.waiting += part.waiting
        for k, v in part.handed.items():
            total.handed[k] = total.handed.get(k, 0) + v
    return total.as_dict()
