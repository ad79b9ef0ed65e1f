"""A database connection is checked before use only when it has sat idle, not on every checkout.

`pool_pre_ping` costs every request a round trip (SELECT 1) before its first statement, about a sixth of the
signed hook's time under load (bench/ingest.py, issue 14). A connection in steady use is known to be alive: it
answered a moment ago. One that sat in the pool longer than PING_AFTER_IDLE (the database may have restarted,
a firewall may have dropped it overnight) is pinged on checkout, and a dead one is replaced there, before any
caller sees it (SQLAlchemy's "pessimistic disconnect handling, custom": DisconnectionError from a checkout
listener makes the pool retry with a fresh connection).

A connection that dies while in steady use fails its next statement; SQLAlchemy then invalidates every pooled
connection older than that moment, so one operation per process sees the error. The signed hook retries that
one (hooks/service.py `accept`); other callers answer an error and the next attempt finds a fresh connection.
"""
from __future__ import annotations

import time

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError

PING_AFTER_IDLE = 10.0  # seconds
_SINCE = "retention_idle_since"


def install(engine) -> None:
    """Ping connections idle longer than PING_AFTER_IDLE on checkout (replaces pool_pre_ping)."""

    @event.listens_for(engine, "connect")
    def _fresh(dbapi_connection, record):
        record.info[_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _idle_from_now(dbapi_connection, record):
        if dbapi_connection is not None:
            record.info[_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, proxy):
        since = record.info.get(_SINCE)
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            dbapi_connection.rollback()
        except Exception as exc:  # any failure: the pool discards it and checks out a fresh one
            raise DisconnectionError(f"connection idle and not answering: {exc}") from exc
