"""Accepting signed events into the inbox, and applying them in batches.

Acceptance stores the event row and commits before answering 202; only then is a job queued
(outbox). Processing claims rows with a lease (a conditional UPDATE, SKIP LOCKED on PostgreSQL),
applies them in `occurred_at` order, and marks them processed; a job run twice finds nothing left,
and a worker killed half-way leaves rows whose lease expires and are claimed again. Every effect
is itself idempotent (unique keys), so applying an event a second time changes nothing.
"""
from __future__ import annotations

import datetime as dt
import logging
import traceback
from contextlib import contextmanager
import uuid
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, event, func, inspect, or_, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from retention import bulk
from retention import dbpool
from retention.audit.service import record
from retention.extensions import db
from retention.hooks import processing
from retention.hooks.models import FAILED, PENDING, PROCESSED, WAITING, InboundEvent
from retention.hooks.schemas import json_ready
from retention.queries import id_in
from retention.queue import QueueUnavailable, nudge_once

log = logging.getLogger(__name__)

PROCESSING = "processing"
LEASE = dt.timedelta(minutes=5)
NUDGE_KEY = "events"
PROCESS_JOB = "jobs.events.process_events"


@dataclass
class Accepted:
    """What the hook answers: the status code and the body."""

    status: int
    body: dict
    event_id: int


def refs_of(event_type: str, data: dict) -> tuple[str | None, str | None]:
    """The customer and sale an event is about, as the sender names them."""
    customer = data.get("customer")
    customer_ref = customer["id"] if isinstance(customer, dict) else data.get("customer_id")
    return customer_ref, data.get("sale_id")


def find_by_webhook_id(session: Session, webhook_id: str) -> InboundEvent | None:
    return session.scalar(select(InboundEvent).where(InboundEvent.webhook_id == webhook_id))


def accept(engine: Engine, webhook_id: str, event: dict, now: dt.datetime) -> Accepted:
    """Store a validated event durably on `engine` (no ORM session: one statement); the same webhook id again
    returns the first answer (200).

    One INSERT ... ON CONFLICT DO NOTHING RETURNING: a repeated id (also two deliveries at the same
    moment) inserts nothing, and the first row's answer is read back.
    """
    data = json_ready(event["data"])
    customer_ref, sale_ref = refs_of(event["type"], data)
    row = {"webhook_id": webhook_id, "type": event["type"], "occurred_at": event["occurred_at"], "received_at": now,
           "data": data, "customer_ref": customer_ref, "sale_ref": sale_ref, "status": PENDING, "attempts": 0}
    try:
        new, event_id = _insert(engine, row)
    except DBAPIError as exc:
        # The connection died under us (database restarted): the pool has dropped it; once more on a fresh one.
        # The statement is idempotent, so a first attempt that did land answers 200 below, never a second row.
        if not exc.connection_invalidated:
            raise
        new, event_id = _insert(engine, row)
    answer = {"id": f"evt_{event_id}", "status": "accepted"}  # InboundEvent.answer(), without loading the row
    return Accepted(202 if new else 200, answer, event_id)


def _insert(engine: Engine, row: dict) -> tuple[bool, int]:
    """The INSERT as its own transaction, on a connection of the session's engine in autocommit: the statement is
    the commit (one round trip instead of BEGIN, INSERT, COMMIT) and no ORM session is set up for one row.
    Returns (inserted, id); a webhook-id seen before is looked up on the same connection."""
    pooled = dbpool.autocommit_engine(engine)
    if pooled is not None:
        return _insert_on_driver(pooled, row)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        new_id = conn.execute(_accept_statement(), row).scalar()
        if new_id is not None:
            return True, new_id
        return False, conn.scalar(select(InboundEvent.id).where(InboundEvent.webhook_id == row["webhook_id"]))


_COLUMNS = ("webhook_id", "type", "occurred_at", "received_at", "data", "customer_ref", "sale_ref", "status", "attempts")


def _insert_on_driver(pooled: Engine, row: dict) -> tuple[bool, int]:
    """`_insert` on PostgreSQL, said to the driver (psycopg) directly: SQLAlchemy's execution context cost as much
    as the round trip (bench/ingest.py, issue 14). Values go through the columns' own bind processing (UTC times,
    JSON), as in retention/bulk.py. A connection found dead is handled as SQLAlchemy does: the pool recycles every
    connection as old as it, and the DBAPIError (connection_invalidated) tells `accept` to say it once more."""
    processors = _driver_processors(pooled.dialect)
    values = [row[name] if proc is None else proc(row[name]) for name, proc in zip(_COLUMNS, processors)]
    raw = pooled.raw_connection()
    try:
        driver = raw.driver_connection
        try:
            found = driver.execute(_DRIVER_INSERT, values).fetchone()
            if found is not None:
                return True, found[0]
            return False, driver.execute(_DRIVER_SELECT, (row["webhook_id"],)).fetchone()[0]
        except pooled.dialect.loaded_dbapi.Error as exc:
            disconnected = pooled.dialect.is_disconnect(exc, driver, None)
            if disconnected:
                pooled.pool._invalidate(raw, exc)
            raise DBAPIError.instance(_DRIVER_INSERT, values, exc, pooled.dialect.loaded_dbapi.Error,
                                      connection_invalidated=disconnected, dialect=pooled.dialect) from exc
    finally:
        raw.close()


_DRIVER_INSERT = (f"INSERT INTO inbound_events ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))}) "
                  "ON CONFLICT (webhook_id) DO NOTHING RETURNING id")
_DRIVER_SELECT = "SELECT id FROM inbound_events WHERE webhook_id = %s"
_PROCESSORS: dict = {}


def _driver_processors(dialect) -> list:
    found = _PROCESSORS.get(dialect)
    if found is None:
        table = InboundEvent.__table__
        found = _PROCESSORS[dialect] = [table.c[name].type._cached_bind_processor(dialect) for name in _COLUMNS]
    return found


def _accept_statement():
    """INSERT ... ON CONFLICT (webhook_id) DO NOTHING RETURNING id, as one cacheable statement (SQLite >= 3.35
    speaks it too): the dialects' own upsert constructs are compiled afresh on every request."""
    global _ACCEPT
    if _ACCEPT is None:
        table = InboundEvent.__table__
        _ACCEPT = (text(f"INSERT INTO inbound_events ({', '.join(_COLUMNS)}) "
                        f"VALUES ({', '.join(':' + c for c in _COLUMNS)}) "
                        "ON CONFLICT (webhook_id) DO NOTHING RETURNING id")
                   .bindparams(*(bindparam(c, type_=table.c[c].type) for c in _COLUMNS))
                   .columns(table.c.id))
    return _ACCEPT


_ACCEPT = None


def nudge(queue) -> bool:
    """Queue one processing job unless one is already waiting; never fails the caller.

    Returns whether a job was queued. With Redis down the events stay pending in the database
    and the periodic sweep queues them once Redis is back.
    """
    return nudge_once(queue, NUDGE_KEY, PROCESS_JOB, 300, "the sweep")


def nudge_soon(queue) -> None:
    """`nudge` from the queue's background thread (the hook: events arriving together share one nudge)."""
    queue.nudge_soon(NUDGE_KEY, PROCESS_JOB, 300)


def _due_condition(now: dt.datetime):
    return or_(
        InboundEvent.status == PENDING,
        and_(InboundEvent.status == FAILED, InboundEvent.next_attempt_at <= now),
        and_(InboundEvent.status == PROCESSING, InboundEvent.next_attempt_at <= now),  # lease expired
    )


# The last_error of an event whose claims kept ending without an outcome (the worker killed: SIGKILL, OOM...).
STOPPED = ("worker stopped while applying it, %d times (killed, or out of memory?); not retried: replay it once the "
           "cause is fixed")


def _suspect_limit(limit: int, attempts: int, max_attempts: int) -> int:
    """How many events whose last claim never finished (`attempts` claims so far) are claimed together: fewer each
    time, one at a time by the last attempt, so the event that stops its worker is found alone and the others of
    its batch are applied before they use up their attempts (2000, 676, 228, 77, 26, 8, 3, 1 for 8 attempts)."""
    steps = max(max_attempts - 1, 1)
    return max(1, int(limit ** (max(max_attempts - 1 - attempts, 0) / steps)))


def claim(session: Session, now: dt.datetime, limit: int, max_attempts: int | None = None) -> tuple[str, list[int]]:
    """Take up to `limit` due events under a lease; commit, so other workers skip them.

    Each claim is an attempt (attempts + 1 in the same UPDATE), so a worker that dies while applying a batch
    (SIGKILL, out of memory) has used it. With `max_attempts`, events still "processing" after their lease (their
    last claim never finished) are claimed first, in smaller batches each time (`_suspect_limit`); one that has
    used `max_attempts` claims is failed with STOPPED instead (not retried, shown to admins, replayable).
    """
    from sqlalchemy import case, literal, null

    token = uuid.uuid4().hex
    postgresql = session.get_bind().dialect.name == "postgresql"
    while True:
        due, size, stopped = _due_condition(now), limit, None
        if max_attempts is not None:
            suspect = and_(InboundEvent.status == PROCESSING, InboundEvent.next_attempt_at <= now)
            attempts = session.scalar(select(InboundEvent.attempts).where(suspect)
                                      .order_by(InboundEvent.occurred_at, InboundEvent.id).limit(1))
            if attempts is None:
                due = and_(due, InboundEvent.status != PROCESSING)
            else:
                due, size = suspect, _suspect_limit(limit, attempts, max_attempts)
                stopped = InboundEvent.attempts >= max_attempts
        pick = select(InboundEvent.id).where(due).order_by(InboundEvent.occurred_at, InboundEvent.id).limit(size)
        if postgresql:
            pick = pick.with_for_update(skip_locked=True)
        values = {"status": PROCESSING, "next_attempt_at": now + LEASE, "claim_token": token,
                  "attempts": InboundEvent.attempts + 1}
        if stopped is not None:
            lease = literal(now + LEASE, InboundEvent.__table__.c.next_attempt_at.type)
            values = {"status": case((stopped, FAILED), else_=PROCESSING),
                      "next_attempt_at": case((stopped, null()), else_=lease),
                      "claim_token": case((stopped, null()), else_=token),
                      "attempts": case((stopped, InboundEvent.attempts), else_=InboundEvent.attempts + 1),
                      "last_error": case((stopped, STOPPED % max_attempts), else_=InboundEvent.last_error)}
        rows = session.execute(
            update(InboundEvent).where(InboundEvent.id.in_(pick.scalar_subquery())).values(**values)
            .returning(InboundEvent.id, InboundEvent.status).execution_options(synchronize_session=False)
        ).all()
        session.commit()
        ids = [row.id for row in rows if row.status == PROCESSING]
        given_up = [row.id for row in rows if row.status == FAILED]
        if given_up:
            log.warning("events %s stopped their worker %d times: failed, not retried", given_up, max_attempts)
        if ids or not given_up:  # only given-up events picked: claim again (each given up is out of the way)
            return token, ids


def _load_claimed(session: Session, ids: list[int], token: str) -> list[InboundEvent]:
    return list(session.scalars(
        select(InboundEvent).where(InboundEvent.id.in_(ids), InboundEvent.status == PROCESSING,
                                   InboundEvent.claim_token == token)
        .order_by(InboundEvent.occurred_at, InboundEvent.id)))


def _apply(batch: processing.Batch, event: InboundEvent, now: dt.datetime) -> None:
    """Apply one event and mark it; Waiting parks it until what it refers to arrives."""
    try:
        processing.apply(batch, event, now)
    except processing.Waiting as waiting:
        event.status = WAITING
        event.last_error = str(waiting)
        event.next_attempt_at = None
        return
    event.status = PROCESSED
    event.processed_at = now
    event.last_error = None
    event.next_attempt_at = None


def _mark_processed(session: Session, events: list[InboundEvent], now: dt.datetime) -> None:
    """What _apply writes on a processed event, for a whole batch in one UPDATE (not one per row by the ORM)."""
    if not events:
        return
    session.execute(update(InboundEvent).where(id_in(session, InboundEvent.id, [e.id for e in events]))
                    .values(status=PROCESSED, processed_at=now, last_error=None, next_attempt_at=None)
                    .execution_options(synchronize_session=False))
    for event in events:  # as the row now is, so the session does not write it again (the claim counted the attempt)
        for name, value in (("status", PROCESSED), ("processed_at", now), ("last_error", None),
                            ("next_attempt_at", None)):
            set_committed_value(event, name, value)


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


@contextmanager
def ids_from_sequences(session):
    """On PostgreSQL, give new rows their ids from their sequences before a flush, one query per table.

    With the ids known, the new rows of the tables in `processing.BULK_TABLES` (a batch's customers, sales and
    enrollments) are written by one COPY per table and made persistent without the unit of work
    (retention/bulk.py: insert_pending); the ORM inserts any other new rows with executemany (prepared once)
    instead of one huge INSERT ... RETURNING per chunk, which psycopg re-parses each time.
    """
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    target = session.registry() if hasattr(session, "registry") else session

    def assign(sess, _context, _instances):
        waiting: dict[str, list] = {}
        for obj in sess.new:
            table = inspect(obj).mapper.local_table
            if "id" in table.c and getattr(obj, "id", 0) is None:
                waiting.setdefault(table.name, []).append(obj)
        conn = sess.connection()
        for table, objs in waiting.items():
            if len(objs) < 2:
                continue
            ids = conn.execute(text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
                               {"t": table, "n": len(objs)}).scalars().all()
            for obj, new_id in zip(objs, ids, strict=True):
                obj.id = new_id
        for table in _bulk_order():
            if len(waiting.get(table, ())) >= 2:
                bulk.insert_pending(sess, waiting[table])

    event.listen(target, "before_flush", assign)
    try:
        yield
    finally:
        event.remove(target, "before_flush", assign)


def _bulk_order() -> list[str]:
    """The tables of processing.BULK_TABLES, parents first (foreign keys)."""
    return [t.name for t in db.metadata.sorted_tables if t.name in processing.BULK_TABLES]


def process_batch(session: Session, now: dt.datetime, limit: int, max_attempts: int) -> int:
    """Claim and apply one batch; returns how many events were claimed (0 when nothing is due)."""
    token, ids = claim(session, now, limit, max_attempts)
    if not ids:
        return 0
    with ids_from_sequences(session):
        return _apply_batch(session, now, token, ids, max_attempts)


def _apply_batch(session: Session, now: dt.datetime, token: str, ids: list[int], max_attempts: int) -> int:
    """Apply the claimed events (their claim counted the attempt: nothing here counts it again)."""
    events = _load_claimed(session, ids, token)
    batch = processing.Batch(session)
    batch.preload([e.customer_ref for e in events], [e.sale_ref for e in events])
    try:
        processed = []
        for event in events:
            try:
                processing.apply(batch, event, now)
            except processing.Waiting as waiting:
                event.status, event.last_error, event.next_attempt_at = WAITING, str(waiting), None
                continue
            processed.append(event)
        _mark_processed(session, processed, now)
        processing.release_waiting(session, batch, now)
        batch.finish()
        session.commit()
        return len(ids)
    except Exception:
        session.rollback()
        log.info("batch of %d failed as a whole; applying one by one to isolate the fault", len(ids))
    # One by one, each in a savepoint, so one bad event does not hold back the others.
    batch = processing.Batch(session)
    for event in _load_claimed(session, ids, token):
        try:
            with session.begin_nested():
                _apply(batch, event, now)
                processing.release_waiting(session, batch, now)
                batch.finish()
        except Exception as exc:
            batch.forget()
            event.status = FAILED
            event.last_error = "".join(traceback.format_exception_only(exc)).strip()[:4000]
            event.next_attempt_at = now + _backoff(event.attempts) if event.attempts < max_attempts else None
            log.warning("event %s (%s) failed: %s", event.id, event.type, event.last_error)
        session.commit()
    return len(ids)


def process_due(session: Session, now: dt.datetime, limit: int = 500, max_attempts: int = 8,
                max_batches: int | None = None) -> int:
    """Apply due events batch after batch until none is left; returns how many were claimed."""
    total = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        n = process_batch(session, now, limit, max_attempts)
        if n == 0:
            break
        total += n
        batches += 1
    return total


def due_count(session: Session, now: dt.datetime) -> int:
    """How many events are waiting to be applied now."""
    return session.scalar(select(func.count()).select_from(InboundEvent).where(_due_condition(now)))


def sweep(session: Session, queue, now: dt.datetime) -> bool:
    """Queue processing if anything is due (the safety net for lost jobs and Redis outages)."""
    if due_count(session, now) == 0:
        return False
    try:
        queue.release_nudge(NUDGE_KEY)
        queue.enqueue(PROCESS_JOB)
        return True
    except QueueUnavailable as exc:
        log.warning("sweep could not queue processing: %s", exc)
        return False


def replay(session: Session, event_id: int, now: dt.datetime, *, actor: str) -> InboundEvent | None:
    """Put a failed or waiting event back in line (an admin's action, audited); returns it or None."""
    event = session.get(InboundEvent, event_id)
    if event is None or event.status not in (FAILED, WAITING):
        return None
    event.status = PENDING
    event.next_attempt_at = None
    event.attempts = 0
    record(session, actor=actor, action="event.replayed", entity_type="inbound_event", entity_id=event_id, now=now)
    return event


def counts_by_status(session: Session) -> dict[str, int]:
    return dict(session.execute(select(InboundEvent.status, func.count()).group_by(InboundEvent.status)).all())
