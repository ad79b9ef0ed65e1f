"""The tick's work: claim due touchpoints and hand each to its kind.

Claiming is one conditional UPDATE (`FOR UPDATE SKIP LOCKED` on PostgreSQL) inside the same
transaction that hands the touchpoints out, so two ticks never take the same row and a tick killed
half-way rolls back to where it started. Each handed-out kind writes a work row unique on the
touchpoint, so even a replay could not double it. The kinds, the facts conditions read and the gates are
registered by their features (retention/journeys/registry.py); this module imports none of them.
"""
from __future__ import annotations

import datetime as dt
from collections import namedtuple
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from retention.customers.models import Sale
from retention.journeys import conditions, registry
from retention.journeys.cover import cover_absent_owners
from retention.journeys.models import (
    CLAIMING, HANDED, OPEN, SCHEDULED, SKIPPED, Enrollment, JourneyStep, Touchpoint,
)
from retention.journeys.service import complete_finished
from retention.queries import id_in

# Ids per statement: PostgreSQL takes them as one array parameter; SQLite caps bound parameters.
CHUNK = 5000
# A claimed touchpoint, as the claim returns it.
Claimed = namedtuple("Claimed", "id kind step_id customer_id enrollment_id")




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
    """The due touchpoints, claimed (their sale ids: `_sale_ids`)."""
    if session.get_bind().dialect.name == "postgresql":
        # Row locks only: no second row version, and the final UPDATE then skips the FK re-checks
        # PostgreSQL makes on rows already written by the same transaction. Table columns, not the mapped ones: a
        # Core statement, whose rows skip the ORM's loading (a fifth of the hand-out's Python time, bench/tick.py).
        # The sale ids come after, from the enrollments by id (`_sale_ids`): joining them here let the planner scan
        # all of them for every batch (the claim took half as long again).
        tp = Touchpoint.__table__
        return session.execute(
            select(tp.c.id, tp.c.kind, tp.c.step_id, tp.c.customer_id, tp.c.enrollment_id)
            .where(tp.c.status == SCHEDULED, tp.c.due_at <= now)
            .order_by(tp.c.due_at).limit(limit).with_for_update(skip_locked=True)).all()
    pick = (select(Touchpoint.id).where(Touchpoint.status == SCHEDULED, Touchpoint.due_at <= now)
            .order_by(Touchpoint.due_at).limit(limit))
    return session.execute(
        update(Touchpoint).where(Touchpoint.id.in_(pick.scalar_subquery())).values(status=CLAIMING)
        .returning(Touchpoint.id, Touchpoint.kind, Touchpoint.step_id, Touchpoint.customer_id,
                   Touchpoint.enrollment_id)
        .execution_options(synchronize_session=False)).all()


# The facts a step's condition can read about the journey's own sale (the rest come from registry.FACTS).
SALE_FACTS = frozenset({"purchase_value", "currency", "category", "days_since_delivery"})


def _sale_ids(session: Session, enrollment_ids) -> dict[int, int]:
    """Each enrollment's sale id (one query per chunk, no join)."""
    ids = list(set(enrollment_ids))
    found = {}
    for chunk in range(0, len(ids), CHUNK):
        found.update(session.execute(select(Enrollment.id, Enrollment.sale_id)
                                     .where(id_in(session, Enrollment.id, ids[chunk:chunk + CHUNK]))).all())
    return found


def _sales_of(session: Session, enrollment_ids) -> dict[int, tuple]:
    """Each enrollment's sale: amount, currency, category, delivery time (one query per chunk)."""
    ids = list(set(enrollment_ids))
    sales = {}
    for chunk in range(0, len(ids), CHUNK):
        for eid, amount, currency, category, delivered in session.execute(
                select(Enrollment.id, Sale.amount, Sale.currency, Sale.category, Sale.delivered_at)
                .join(Sale, Enrollment.sale_id == Sale.id)
                .where(id_in(session, Enrollment.id, ids[chunk:chunk + CHUNK]))):
            sales[eid] = (amount, currency, category, delivered)
    return sales


def _wanted_facts(rows, conditions_of: dict[int, dict | None]) -> dict[int, frozenset]:
    """Touchpoint id -> the facts its hand-out reads: its step's condition's and its kind's gates' (none: left out)."""
    by_pair: dict[tuple[str, int], frozenset] = {}
    for pair in {(r.kind, r.step_id) for r in rows}:
        kind, step_id = pair
        by_pair[pair] = (frozenset(g.fact for g in registry.GATES if kind in g.kinds)
                         | frozenset(conditions.facts_in(conditions_of[step_id])))
    return {r.id: names for r in rows if (names := by_pair[(r.kind, r.step_id)])}


def _facts(session: Session, rows, wanted: dict[int, frozenset], now: dt.datetime) -> dict[int, dict]:
    """Facts for the conditions and gates, loaded for the whole batch: each source (the sale, every registered
    loader) once, for the customers of the touchpoints that read one of its facts. A touchpoint gets the facts it
    reads (others may be missing from its dict; a condition only reads its own).
    """
    if not wanted:
        return {}
    by_id = {r.id: r for r in rows}
    sale_rows = [by_id[tid] for tid, names in wanted.items() if names & SALE_FACTS]
    sales = _sales_of(session, [r.enrollment_id for r in sale_rows]) if sale_rows else {}
    loaded = []
    for source in registry.FACTS:
        provides = frozenset(source.defaults)
        customers = {by_id[tid].customer_id for tid, names in wanted.items() if names & provides}
        if customers:
            loaded.append((provides, source.defaults, source.load(session, customers)))
    facts = {}
    for tid, names in wanted.items():
        r = by_id[tid]
        f = {"customer_type": None}
        if names & SALE_FACTS:
            amount, currency, category, delivered = sales.get(r.enrollment_id, (None, None, None, None))
            f.update(purchase_value=amount, currency=currency, category=category,
                     days_since_delivery=(now - delivered).days if delivered else None)
        for provides, defaults, by_customer in loaded:
            if names & provides:
                f.update(by_customer.get(r.customer_id) or defaults)
        facts[tid] = f
    return facts


def hand_out(session: Session, now: dt.datetime, limit: int = 5000) -> HandoutResult:
    """Claim up to `limit` due touchpoints and hand them out, in one transaction."""
    result = HandoutResult()
    rows = _claim(session, now, limit)
    if not rows:
        session.rollback()
        return result
    rows = [Claimed(*r) for r in rows]  # plain named tuples: the loops below read 100,000s of fields a tick
    result.claimed = len(rows)
    step_ids = {r.step_id for r in rows}
    steps = {s.id: s for s in session.scalars(select(JourneyStep).where(JourneyStep.id.in_(step_ids)))}
    handouts = registry.HANDOUTS
    kinds = {r.kind for r in rows}
    gates_of = {kind: [g for g in registry.GATES if kind in g.kinds] for kind in kinds}
    needs_sale = {kind for kind in kinds if kind in handouts and handouts[kind].needs_sale}
    sale_of = _sale_ids(session, [r.enrollment_id for r in rows if r.kind in needs_sale])
    facts = _facts(session, rows, _wanted_facts(rows, {sid: s.condition for sid, s in steps.items()}), now)

    # Customers refused by a step's channel (opted out of phone calls or letters), one query per channel.
    channel_of = {kind: handouts[kind].channel for kind in kinds if kind in handouts}
    refused = {channel: registry.refused(session, {r.customer_id for r in rows if channel_of.get(r.kind) == channel},
                                         channel)
               for channel in {h.channel for h in handouts.values() if h.channel}}
    to_open, handed, skipped = [], [], []
    waiting: dict[registry.Gate, list[int]] = {}
    work: dict[str, list[registry.Due]] = {}
    not_built: dict[str, list[int]] = {}  # reason -> touchpoints skipped with it (a kind or fact refused, opt-outs)
    checks: dict[int, tuple] = {}  # step id -> (reason it cannot be evaluated yet, its condition's test)
    for r in rows:
        step = steps[r.step_id]
        f = facts.get(r.id)
        if r.kind not in handouts:
            not_built.setdefault(f"{r.kind} steps are not built yet", []).append(r.id)
            continue
        check = checks.get(r.step_id)
        if check is None:  # per step, once a batch: the rule is validated once, not per touchpoint
            missing = conditions.unavailable_facts(step.condition)
            check = checks[r.step_id] = (
                f"condition uses {', '.join(missing)}, not available yet" if missing else None,
                conditions.evaluator(step.condition) if step.condition and not missing else None)
        if check[0] is not None:
            not_built.setdefault(check[0], []).append(r.id)
            continue
        if check[1] is not None and not check[1](f or {}):
            skipped.append(r.id)
            continue
        channel = handouts[r.kind].channel
        if channel and r.customer_id in refused[channel]:
            not_built.setdefault(registry.not_contacted_reason(channel), []).append(r.id)
            continue
        gate = next((g for g in gates_of[r.kind] if f.get(g.fact)), None) if f else None
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
    enrollment_of = {r.id: r.enrollment_id for r in rows}
    complete_finished(session, {enrollment_of[i] for i in handed} | {enrollment_of[i] for i in skipped}, now)
    session.commit()
    return result


def hand_out_all(session: Session, now: dt.datetime, limit: int = 5000, max_batches: int | None = None) -> dict:
    """Cover the calls of people who are away (journeys/cover.py), then hand out batch after batch until nothing
    is due; returns the totals."""
    covered = cover_absent_owners(session, now)
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
    return {**total.as_dict(), "calls_covered": covered}
