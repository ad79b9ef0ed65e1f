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

import threading
import time
import weakref

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

PING_AFTER_IDLE = 1.0  # seconds: under load a connection is back in use within milliseconds
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


_AUTOCOMMIT: dict[str, Engine] = {}
_AUTOCOMMIT_LOCK = threading.Lock()
_BY_ENGINE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # engine -> its autocommit engine (or None)
_MISSING = object()


def autocommit_engine(engine: Engine) -> Engine | None:
    """A pool of connections kept in autocommit, beside `engine`'s, for writes that are one statement (the signed
    hook's INSERT): the statement is its own commit, one round trip, and no connection switches isolation level
    on every checkout and back on every return. One per database per process; None on SQLite (one writer: the
    hook shares the app's pool there)."""
    found = _BY_ENGINE.get(engine, _MISSING)  # the hot path: no URL rendered per request
    if found is not _MISSING:
        return found
    if engine.dialect.name != "postgresql":
        found = None
    else:
        key = engine.url.render_as_string(hide_password=False)
        with _AUTOCOMMIT_LOCK:
            found = _AUTOCOMMIT.get(key)
            if found is None:
                found = create_engine(engine.url, isolation_level="AUTOCOMMIT", pool_size=engine.pool.size(),
                                      pool_reset_on_return=None)  # autocommit: no transaction to end
                install(found)
                _AUTOCOMMIT[key] = found
    _BY_ENGINE[engine] = found
    return found
