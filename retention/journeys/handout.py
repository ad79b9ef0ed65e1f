"""The tick's work: claim due touchpoints and hand each to its kind.

Claiming is a `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL (a conditional UPDATE to `claiming` on SQLite,
whose writer lock serialises ticks) inside the same transaction that decides each row (conditions, gates,
opt-outs) and writes its outcome, so two ticks never take the same row and a tick killed half-way rolls back to
where it started.

A handed-out survey, letter or email is queued in `handed_work` in that transaction; `write_handed_work` writes
its work row later (the tick a bounded share, the job the rest), deleting the queue row in the transaction that
writes it. Each kind's work row is unique on the touchpoint, so even a replay could not double it. The kinds, the
facts conditions read and the gates are registered by their features (retention/journeys/registry.py); this module
imports none of them.
"""
from __future__ import annotations

import datetime as dt
from collections import namedtuple
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from retention.customers.locking import lock_customers
from retention.customers.models import Sale
from retention.journeys import conditions, registry
from retention.journeys.cover import cover_absent_owners
from retention.journeys.models import (
    CLAIMING, HANDED, OPEN, SCHEDULED, SKIPPED, Enrollment, HandedWork, JourneyStep, Touchpoint,
)
from retention.journeys.service import complete_finished
from retention.queries import id_in, insert_rows

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
    """The due touchpoints of the next batch, claimed for this transaction."""
    if session.get_bind().dialect.name == "postgresql":
        # Row locks only: no second row version, and the final UPDATE then skips the FK re-checks PostgreSQL makes
        # on rows already written by the same transaction. (Reading without a lock and claiming in the UPDATE that
        # sets the outcome, over a FOR UPDATE SKIP LOCKED sub-select, was tried: its join of the batch's ids cost
        # more than this lock, bench/tick.py.) Table columns, not the mapped ones: a Core statement, whose rows skip
        # the ORM's loading. The sale ids come after, from the enrollments by id (`_sale_ids`): joining them here let
        # the planner scan all of them for every batch.
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


@dataclass(frozen=True)
class Outcome:
    """What becomes of a due touchpoint: its new status and reason, a later due time (waiting), and whether it is
    handed out (`handed_at`) and finished (`completed_at`) now."""

    status: str
    reason: str | None = None
    due_at: dt.datetime | None = None
    handed: bool = False
    completed: bool = False

    def values(self, now: dt.datetime) -> dict:
        values = {"status": self.status}
        if self.reason is not None:
            values["reason"] = self.reason
        if self.due_at is not None:
            values["due_at"] = self.due_at
        if self.handed:
            values["handed_at"] = now
        if self.completed:
            values["completed_at"] = now
        return values


OPENED = Outcome(OPEN, handed=True)
DONE_NOW = Outcome(HANDED, handed=True, completed=True)
CONDITION_FALSE = Outcome(SKIPPED, reason="condition was false when due", completed=True)


def _write_outcomes(session: Session, now: dt.datetime, outcomes: list[Outcome], chosen: dict[int, int]) -> None:
    """Write each claimed touchpoint's outcome (`chosen`: id -> index in `outcomes`): one UPDATE per outcome."""
    by_outcome: dict[int, list[int]] = {}
    for tid, index in chosen.items():
        by_outcome.setdefault(index, []).append(tid)
    for index, ids in by_outcome.items():
        for chunk in range(0, len(ids), CHUNK):
            session.execute(update(Touchpoint).where(id_in(session, Touchpoint.id, ids[chunk:chunk + CHUNK]))
                            .values(**outcomes[index].values(now)).execution_options(synchronize_session=False))


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
    step_ids = {r.step_id for r in rows}
    steps = {s.id: s for s in session.scalars(select(JourneyStep).where(JourneyStep.id.in_(step_ids)))}
    handouts = registry.HANDOUTS
    kinds = {r.kind for r in rows}
    gates_of = {kind: [g for g in registry.GATES if kind in g.kinds] for kind in kinds}
    facts = _facts(session, rows, _wanted_facts(rows, {sid: s.condition for sid, s in steps.items()}), now)

    # Customers refused by a step's channel (opted out of phone calls or letters), one query per channel.
    channel_of = {kind: handouts[kind].channel for kind in kinds if kind in handouts}
    refused = {channel: registry.refused(session, {r.customer_id for r in rows if channel_of.get(r.kind) == channel},
                                         channel)
               for channel in {h.channel for h in handouts.values() if h.channel}}
    # What becomes of each touchpoint: an index into `outcomes` (opened, handed, skipped for a reason, waiting).
    outcomes: list[Outcome] = [OPENED, DONE_NOW, CONDITION_FALSE]
    index_of: dict[Outcome, int] = {o: i for i, o in enumerate(outcomes)}
    chosen: dict[int, int] = {}
    work: list[Claimed] = []  # touchpoints whose work row is to be written

    def choose(tid: int, outcome: Outcome) -> None:
        index = index_of.get(outcome)
        if index is None:
            index = index_of[outcome] = len(outcomes)
            outcomes.append(outcome)
        chosen[tid] = index

    checks: dict[int, tuple] = {}  # step id -> (reason it cannot be evaluated yet, its condition's test)
    for r in rows:
        step = steps[r.step_id]
        f = facts.get(r.id)
        kind = handouts.get(r.kind)
        if kind is None:
            choose(r.id, Outcome(SKIPPED, reason=f"{r.kind} steps are not built yet", completed=True))
            continue
        check = checks.get(r.step_id)
        if check is None:  # per step, once a batch: the rule is validated once, not per touchpoint
            missing = conditions.unavailable_facts(step.condition)
            check = checks[r.step_id] = (
                Outcome(SKIPPED, reason=f"condition uses {', '.join(missing)}, not available yet", completed=True)
                if missing else None,
                conditions.evaluator(step.condition) if step.condition and not missing else None)
        if check[0] is not None:
            choose(r.id, check[0])
            continue
        if check[1] is not None and not check[1](f or {}):
            chosen[r.id] = index_of[CONDITION_FALSE]
            continue
        if kind.channel and r.customer_id in refused[kind.channel]:
            choose(r.id, Outcome(SKIPPED, reason=registry.not_contacted_reason(kind.channel), completed=True))
            continue
        gate = next((g for g in gates_of[r.kind] if f.get(g.fact)), None) if f else None
        if gate is not None:  # e.g. surveys and offers wait while a complaint is open
            choose(r.id, Outcome(SCHEDULED, reason=gate.reason, due_at=now + gate.retry))
            continue
        chosen[r.id] = index_of[OPENED if kind.opens else DONE_NOW]
        if kind.write is not None:
            work.append(r)

    _write_outcomes(session, now, outcomes, chosen)
    # Work rows (surveys, letters, emails) are written after, by `write_handed_work`, from this queue; a kind that
    # is not `deferred` (referral offers: eligibility may make the step wait) writes its rows here, as a batch.
    insert_rows(session, HandedWork.__table__, [{"touchpoint_id": r.id, "kind": r.kind, "handed_at": now}
                                                 for r in work if handouts[r.kind].deferred])
    inline = [r for r in work if not handouts[r.kind].deferred]
    if inline:
        sale_of = _sale_ids(session, [r.enrollment_id for r in inline if handouts[r.kind].needs_sale])
        by_kind: dict[str, list[registry.Due]] = {}
        for r in inline:
            by_kind.setdefault(r.kind, []).append(
                registry.Due(r.id, r.customer_id, r.enrollment_id, sale_of.get(r.enrollment_id), steps[r.step_id]))
        for kind_name, due in by_kind.items():
            handouts[kind_name].write(session, due, now)
    result.claimed = len(rows)
    finished = set()  # journeys whose step was just handed out or skipped (an open call is still pending)
    for r in rows:
        outcome = outcomes[chosen[r.id]]
        if outcome.status in (HANDED, OPEN):
            result.handed[r.kind] = result.handed.get(r.kind, 0) + 1
        elif outcome.status == SKIPPED:
            result.skipped += 1
        else:
            result.waiting += 1
        if outcome.completed:
            finished.add(r.enrollment_id)
    complete_finished(session, finished, now)
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


def write_handed_work(session: Session, now: dt.datetime, limit: int = CHUNK) -> dict:
    """Write the work rows of handed-out touchpoints (`HandedWork`), up to `limit`, a transaction per batch.

    Each batch is claimed (`_take_work`), so two writers never take the same rows, and its queue rows are deleted in
    the transaction that writes their work (each kind's rows are unique on the touchpoint as well): run
    twice, or killed half-way, nothing is written twice or lost. A customer who opted out of the step's channel
    since the hand-out gets nothing: the touchpoint is skipped with the reason, as the hand-out would have (their
    customers are locked first; one someone else holds right now waits for a later round).
    A touchpoint no longer `handed` (a person changed it since) has its queue row dropped. Returns the counts of
    each (written, opted_out, dropped).
    """
    hw = HandedWork.__table__
    handouts = registry.HANDOUTS
    counts = {"written": 0, "opted_out": 0, "dropped": 0}
    busy: set[int] = set()  # touchpoints whose customer someone else holds right now: left for a later round
    while (done := sum(counts.values())) < limit:
        rows = _take_work(session, min(CHUNK, limit - done), busy)
        if not rows:
            session.rollback()
            break
        live = [r for r in rows if r.status == HANDED and r.kind in handouts and handouts[r.kind].write is not None]
        # The customers of work that reaches them by a channel they may opt out of (letters) are locked before their
        # opt-outs are read, as survey sending does (customers/locking.py): an opt-out being written now holds the
        # letter back for a later round, and one written after it cancels the letter (the opt-out's own hooks).
        reached = {r.customer_id for r in live if handouts[r.kind].channel}
        locked = lock_customers(session, reached) if reached else set()
        held = {r.touchpoint_id for r in live if handouts[r.kind].channel and r.customer_id not in locked}
        if held:
            busy |= held
            rows = [r for r in rows if r.touchpoint_id not in held]
            live = [r for r in live if r.touchpoint_id not in held]
        steps = {s.id: s for s in session.scalars(select(JourneyStep).where(
            JourneyStep.id.in_({r.step_id for r in live})))} if live else {}
        sale_of = _sale_ids(session, [r.enrollment_id for r in live if handouts[r.kind].needs_sale])
        refused = {}
        for channel in {handouts[r.kind].channel for r in live} - {None}:
            refused[channel] = registry.refused(
                session, {r.customer_id for r in live if handouts[r.kind].channel == channel}, channel)
        due: dict[tuple[str, dt.datetime], list[registry.Due]] = {}
        opted_out: dict[str, list[int]] = {}
        for r in live:
            channel = handouts[r.kind].channel
            if channel and r.customer_id in refused[channel]:
                opted_out.setdefault(registry.not_contacted_reason(channel), []).append(r.touchpoint_id)
                continue
            due.setdefault((r.kind, r.handed_at), []).append(
                registry.Due(r.touchpoint_id, r.customer_id, r.enrollment_id, sale_of.get(r.enrollment_id),
                             steps[r.step_id]))
        for reason, ids in opted_out.items():
            session.execute(update(Touchpoint).where(id_in(session, Touchpoint.id, ids), Touchpoint.status == HANDED)
                            .values(status=SKIPPED, reason=reason).execution_options(synchronize_session=False))
            counts["opted_out"] += len(ids)
        for (kind, handed_at), part in due.items():  # each kind writes its rows in one statement, at its hand-out time
            handouts[kind].write(session, part, handed_at)
            counts["written"] += len(part)
        if rows:
            session.execute(hw.delete().where(id_in(session, hw.c.touchpoint_id, [r.touchpoint_id for r in rows])))
        counts["dropped"] += len(rows) - len(live)
        session.commit()
    return counts


# A queued work row with what its writer reads of the touchpoint (status None: the touchpoint is gone).
QueuedWork = namedtuple("QueuedWork", "touchpoint_id kind handed_at status step_id customer_id enrollment_id")


def _take_work(session: Session, limit: int, busy: set[int]) -> list[QueuedWork]:
    """The next `limit` queued work rows for this transaction, oldest touchpoint first, with their touchpoints.

    PostgreSQL: claimed FOR UPDATE SKIP LOCKED (another writer takes others), leaving out `busy`. SQLite (no row
    locks): taken by deleting them first, which takes the database's write lock before anything is read, so a second
    writer waits and then finds the rows that are left (a rollback puts them back)."""
    hw, tp = HandedWork.__table__, Touchpoint.__table__
    touchpoint = (tp.c.status, tp.c.step_id, tp.c.customer_id, tp.c.enrollment_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = (select(hw.c.touchpoint_id, hw.c.kind, hw.c.handed_at, *touchpoint)
                .join(tp, tp.c.id == hw.c.touchpoint_id, isouter=True)
                .order_by(hw.c.touchpoint_id).limit(limit).with_for_update(of=hw, skip_locked=True))
        if busy:
            stmt = stmt.where(hw.c.touchpoint_id.not_in(busy))
        return [QueuedWork(*row) for row in session.execute(stmt)]
    pick = select(hw.c.touchpoint_id).order_by(hw.c.touchpoint_id).limit(limit).scalar_subquery()
    taken = session.execute(hw.delete().where(hw.c.touchpoint_id.in_(pick))
                            .returning(hw.c.touchpoint_id, hw.c.kind, hw.c.handed_at)).all()
    found = {row[0]: row[1:] for row in session.execute(
        select(tp.c.id, *touchpoint).where(tp.c.id.in_([t.touchpoint_id for t in taken])))} if taken else {}
    return sorted((QueuedWork(t.touchpoint_id, t.kind, t.handed_at, *found.get(t.touchpoint_id, (None,) * 4))
                   for t in taken), key=lambda w: w.touchpoint_id)


def has_handed_work(session: Session) -> bool:
    """Whether any handed-out touchpoint's work row is still to be written."""
    return session.scalar(select(HandedWork.touchpoint_id).limit(1)) is not None
