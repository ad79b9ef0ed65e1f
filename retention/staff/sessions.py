"""Server-side staff sessions: sign-out, deactivation and idle time end a session whatever cookie copies exist."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from retention.staff.models import StaffSession

SESSION_KEY = "staff_session"  # the key in Flask's signed cookie that holds the random session id
TOUCH_SECONDS = 60  # last_seen_at is written at most once a minute per session
KEEP_ENDED_DAYS = 30  # ended and idle rows are purged after this long (on each sign-in and by the tick)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(session: Session, user_id: int, *, now: dt.datetime) -> str:
    """Open a session for a user who just signed in; returns the random id for the cookie."""
    session.execute(delete(StaffSession).where(
        StaffSession.last_seen_at < now - dt.timedelta(days=KEEP_ENDED_DAYS)))
    session_id = secrets.token_urlsafe(32)
    session.add(StaffSession(id_hash=_hash(session_id), user_id=user_id, created_at=now, last_seen_at=now))
    return session_id


def resolve_session(session: Session, session_id: str | None, *, now: dt.datetime,
                    idle_seconds: int) -> int | None:
    """The user id of a live session (not ended, not idle too long), or None; idle ones are ended here.

    One lookup by the unique hash; last_seen_at is written at most once a minute, so a busy page stays cheap.
    """
    if not session_id or not isinstance(session_id, str) or len(session_id) > 100:
        return None
    row = session.execute(select(StaffSession.id, StaffSession.user_id, StaffSession.last_seen_at,
                                 StaffSession.ended_at).where(StaffSession.id_hash == _hash(session_id))).first()
    if row is None or row.ended_at is not None:
        return None
    if now - row.last_seen_at > dt.timedelta(seconds=idle_seconds):
        session.execute(update(StaffSession).where(StaffSession.id == row.id, StaffSession.ended_at.is_(None))
                        .values(ended_at=now, ended_reason="idle"))
        return None
    if now - row.last_seen_at >= dt.timedelta(seconds=TOUCH_SECONDS):
        session.execute(update(StaffSession).where(StaffSession.id == row.id).values(last_seen_at=now))
    return row.user_id


def end_session(session: Session, session_id: str | None, *, now: dt.datetime, reason: str = "signed out") -> bool:
    """End one session (sign-out); whether there was a live one."""
    if not session_id or not isinstance(session_id, str):
        return False
    result = session.execute(update(StaffSession).where(StaffSession.id_hash == _hash(session_id),
                                                        StaffSession.ended_at.is_(None))
                             .values(ended_at=now, ended_reason=reason))
    return bool(result.rowcount)


def end_sessions_of(session: Session, user_id: int, *, now: dt.datetime, reason: str) -> int:
    """End every live session of a user (deactivated, role changed, password reset); how many ended."""
    result = session.execute(update(StaffSession).where(StaffSession.user_id == user_id,
                                                        StaffSession.ended_at.is_(None))
                             .values(ended_at=now, ended_reason=reason)
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0


def live_session_count(session: Session, user_id: int, *, now: dt.datetime, idle_seconds: int) -> int:
    """How many sessions of a user are live (for the staff page)."""
    since = now - dt.timedelta(seconds=idle_seconds)
    rows = session.scalars(select(StaffSession.id).where(
        StaffSession.user_id == user_id, StaffSession.ended_at.is_(None), StaffSession.last_seen_at > since))
    return len(rows.all())


def purge_old_sessions(session: Session, *, now: dt.datetime, limit: int) -> int:
    """Delete up to `limit` sessions unused for KEEP_ENDED_DAYS (long ended or idle); the tick calls this."""
    old = (select(StaffSession.id).where(StaffSession.last_seen_at < now - dt.timedelta(days=KEEP_ENDED_DAYS))
           .order_by(StaffSession.last_seen_at).limit(limit))
    ids = list(session.scalars(old))
    if ids:
        session.execute(delete(StaffSession).where(StaffSession.id.in_(ids)))
    return len(ids)


def load_user_for_request(user_id: str):
    """Flask-Login's user loader: the signed-in user only while their server-side session is live.

    The lookup and the last-seen write run in a short session of their own, so they never mix with (or
    commit) the work of the request.
    """
    from flask import current_app
    from flask import session as cookie

    from retention.extensions import db
    from retention.staff.models import StaffUser
    from retention import clock

    with Session(db.engine) as own, own.begin():
        owner = resolve_session(own, cookie.get(SESSION_KEY), now=clock.now(),
                                idle_seconds=current_app.config["SESSION_IDLE_SECONDS"])
    if owner is None or str(owner) != str(user_id):
        cookie.pop(SESSION_KEY, None)
        cookie.pop("_user_id", None)
        return None
    return db.session.get(StaffUser, owner)

