"""The tick's work: claim due touchpoints and hand each to its kind.

Claiming is one conditional UPDATE (`FOR UPDATE SKIP LOCKED` on PostgreSQL) inside the same
transaction that hands the touchpoints out, so two ticks never take the same row and a tick killed
half-way rolls back to where it started. Each handed-out kind writes a work row unique on the
touchpoint, so even a replay could not double it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from retention.complaints.service import customers_with_open_complaints
from retention.customers.models import Customer, Sale
from retention.journeys import conditions
from retention.journeys.models import (
    ACTIVE, HANDED, OPEN, SCHEDULED, SKIPPED, Enrollment, JourneyStep, Touchpoint,
)
from retention.postal.models import Letter
from retention.queries import id_in
from retention.referrals.models import ReferralOffer
from retention.surveys.models import Survey, nps_category
from retention.surveys.service import latest_scores

CLAIMING = "claiming"
GATED_KINDS = ("nps_survey", "referral_offer")
GATE_RETRY = dt.timedelta(hours=24)
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
    """Facts for the conditions, loaded for the whole batch (only customers whose step needs them)."""
    needing = {r.customer_id for r in rows if steps[r.step_id].condition or r.kind in GATED_KINDS}
    if not needing:
        return {}
    scores = latest_scores(session, needing)
    open_complaints = customers_with_open_complaints(session, needing)
    facts = {}
    for r in rows:
        if r.customer_id not in needing:
            continue
        _, amount, currency, category, delivered = sales.get(r.enrollment_id, (None, None, None, None, None))
        score = scores.get(r.customer_id)
        facts[r.id] = {
            "latest_nps": score, "nps_category": nps_category(score), "purchase_value": amount,
            "currency": currency, "category": category, "customer_type": None,
            "open_complaint": r.customer_id in open_complaints,
            "days_since_delivery": (now - delivered).days if delivered else None,
        }
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
    sales = _sales_of(session, [r.enrollment_id for r in rows
                                if steps[r.step_id].condition or r.kind in (*GATED_KINDS, "letter")])
    facts = _facts(session, rows, steps, sales, now)
    locales = {}
    if any(r.kind == "letter" for r in rows):
        ids = list({r.customer_id for r in rows if r.kind == "letter"})
        locales = dict(session.execute(select(Customer.id, Customer.locale).where(id_in(session, Customer.id, ids))).all())
    sale_of = {eid: sale[0] for eid, sale in sales.items()}

    to_open, handed, skipped, waiting = [], [], [], []
    surveys, letters, offers = [], [], []
    for r in rows:
        step = steps[r.step_id]
        f = facts.get(r.id)
        if step.condition and not conditions.evaluate(step.condition, f or {}):
            skipped.append(r.id)
            continue
        if r.kind in GATED_KINDS and f and f["open_complaint"]:
            waiting.append(r.id)  # surveys and offers wait while a complaint is open
            continue
        if r.kind == "call":
            to_open.append(r.id)
        else:
            handed.append(r.id)
            if r.kind == "nps_survey":
                surveys.append({"touchpoint_id": r.id, "customer_id": r.customer_id, "status": "to_send",
                                "created_at": now})
            elif r.kind == "letter":
                letters.append({"touchpoint_id": r.id, "customer_id": r.customer_id,
                                "sale_id": sale_of.get(r.enrollment_id), "template_key": step.template_key or step.key,
                                "language": locales.get(r.customer_id) or "en", "status": "queued",
                                "created_at": now})
            elif r.kind == "referral_offer":
                offers.append({"touchpoint_id": r.id, "customer_id": r.customer_id,
                               "sale_id": sale_of.get(r.enrollment_id), "status": "to_make", "created_at": now})
        result.handed[r.kind] = result.handed.get(r.kind, 0) + 1

    def set_status(ids, **values):
        for chunk in range(0, len(ids), CHUNK):
            session.execute(update(Touchpoint).where(id_in(session, Touchpoint.id, ids[chunk:chunk + CHUNK])).values(**values)
                            .execution_options(synchronize_session=False))

    set_status(to_open, status=OPEN, handed_at=now)
    set_status(handed, status=HANDED, handed_at=now, completed_at=now)
    set_status(skipped, status=SKIPPED, reason="condition was false when due", completed_at=now)
    set_status(waiting, status=SCHEDULED, due_at=now + GATE_RETRY, reason="waiting: a complaint is open")
    for model, values in ((Survey, surveys), (Letter, letters), (ReferralOffer, offers)):
        if values:
            session.execute(insert(model.__table__), values)
    result.skipped, result.waiting = len(skipped), len(waiting)
    # Only a journey whose step was just handed out or skipped can have finished (an open call is pending).
    closed = set(handed) | set(skipped)
    _complete_finished(session, {r.enrollment_id for r in rows if r.id in closed}, now)
    session.commit()
    return result


def _complete_finished(session: Session, enrollment_ids: set[int], now: dt.datetime) -> None:
    """Enrollments with nothing left to do are completed."""
    ids = list(enrollment_ids)
    for chunk in range(0, len(ids), CHUNK):
        part = ids[chunk:chunk + CHUNK]
        # Enrollments with no pending touchpoint left; NOT EXISTS stops at the first pending one found.
        pending = (select(Touchpoint.id).where(Touchpoint.enrollment_id == Enrollment.id,
                                               Touchpoint.status.in_((SCHEDULED, OPEN, "paused", CLAIMING)))
                   .exists())
        finished = list(session.scalars(select(Enrollment.id).where(id_in(session, Enrollment.id, part), ~pending)))
        if finished:
            session.execute(update(Enrollment).where(id_in(session, Enrollment.id, finished), Enrollment.status == ACTIVE)
                            .values(status="completed", ended_at=now).execution_options(synchronize_session=False))


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
