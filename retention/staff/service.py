"""Rules about staff: passwords (argon2id), API tokens, and slowing down password guessing."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import case, delete, literal, select, update
from sqlalchemy.orm import Session

from retention.audit.service import record
from retention.staff.models import ROLES, ApiToken, LoginThrottle, StaffUser
from retention.types import UTCDateTime


class StaffError(ValueError):
    """A staff change that cannot be made; the message names the field."""


def password_hasher(time_cost: int = 3, memory_kib: int = 65536) -> PasswordHasher:
    """An argon2id hasher with the configured cost."""
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


def create_user(session: Session, hasher: PasswordHasher, *, email: str, role: str, password: str,
                name: str = "", actor: str, now: dt.datetime, **details) -> StaffUser:
    """Create a staff account; refuses unknown roles, short passwords and taken emails."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise StaffError("email: not an email address")
    if role not in ROLES:
        raise StaffError(f"role: must be one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise StaffError("password: at least 8 characters")
    if len(password) > 1000:
        raise StaffError("password: at most 1000 characters")
    if session.scalar(select(StaffUser).where(StaffUser.email == email)):
        raise StaffError(f"email: {email} already has an account")
    user = StaffUser(email=email, role=role, name=name or email.split("@")[0].title(),
                     password_hash=hasher.hash(password), created_at=now, **details)
    session.add(user)
    session.flush()
    record(session, actor=actor, action="staff.created", entity_type="staff", entity_id=user.id, now=now,
           changes={"email": email, "role": role})
    return user


def check_password(hasher: PasswordHasher, user: StaffUser | None, password: str) -> bool:
    """Whether the password is right; spends the same time when the user does not exist."""
    if user is None:
        try:
            hasher.verify(_DUMMY_HASHES.setdefault(id(hasher), hasher.hash("not-a-password")), password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASHES: dict[int, str] = {}


def throttle_keys(email: str, address: str) -> tuple[str, str]:
    """The two counters a sign-in attempt uses: this account from this address, and this address alone.

    Nothing is counted per account globally, so a stranger guessing from elsewhere cannot lock staff out.
    """
    address = (address or "unknown")[:100]
    return f"pair:{email[:254]}|{address}", f"addr:{address}"


def reserve_attempt(session: Session, limits: list[tuple[str, int]], now: dt.datetime,
                    window_seconds: int) -> int:
    """Count one sign-in attempt against each (key, limit) before the password is checked.

    Returns the seconds to wait (the attempt is refused) or 0. Each counter is bumped by one atomic upsert,
    so parallel attempts are counted one by one and never more than `limit` passwords are checked per window.
    Counters whose window has ended are purged here, on each sign-in. The caller commits at once.
    """
    window = dt.timedelta(seconds=window_seconds)
    since = now - window
    session.execute(delete(LoginThrottle).where(LoginThrottle.window_start <= since))
    wait = 0
    for key, limit in limits:
        attempts, window_start = _bump(session, key, now, since)
        if attempts > limit:
            wait = max(wait, int((window_start + window - now).total_seconds()) + 1)
    return wait


def _bump(session: Session, key: str, now: dt.datetime, since: dt.datetime) -> tuple[int, dt.datetime]:
    """INSERT ... ON CONFLICT DO UPDATE ... RETURNING: one counter bumped under its row lock."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stale = LoginThrottle.window_start <= literal(since, UTCDateTime)
    stmt = insert(LoginThrottle).values(key=key, window_start=now, attempts=1)
    stmt = stmt.on_conflict_do_update(index_elements=[LoginThrottle.key], set_={
        "attempts": case((stale, 1), else_=LoginThrottle.attempts + 1),
        "window_start": case((stale, literal(now, UTCDateTime)), else_=LoginThrottle.window_start),
    }).returning(LoginThrottle.attempts, LoginThrottle.window_start)
    attempts, window_start = session.execute(stmt).one()
    return attempts, window_start


def forget_attempt(session: Session, pair_key: str, address_key: str) -> None:
    """A successful sign-in clears its account-and-address counter and gives its address back the attempt."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == pair_key))
    session.execute(update(LoginThrottle).where(LoginThrottle.key == address_key, LoginThrottle.attempts > 0)
                    .values(attempts=LoginThrottle.attempts - 1))


class LastAdminError(StaffError):
    """The change would leave no active admin."""


TOKEN_TOUCH_SECONDS = 60  # last_used_at is written at most once a minute per token


def purge_throttles(session: Session, *, now: dt.datetime, window_seconds: int, limit: int) -> int:
    """Delete up to `limit` sign-in counters whose window has ended (the tick calls this; sign-in does too)."""
    ended = (select(LoginThrottle.key).where(LoginThrottle.window_start <= now - dt.timedelta(seconds=window_seconds))
             .order_by(LoginThrottle.window_start).limit(limit))
    keys = list(session.scalars(ended))
    if keys:
        session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(keys)))
    return len(keys)


def issue_token(session: Session, user: StaffUser, *, actor: str, now: dt.datetime, label: str = "",
                expires_at: dt.datetime | None = None) -> str:
    """Create an API token for a user and return it; only its hash is kept."""
    if len(label) > 100:
        raise StaffError("label: at most 100 characters")
    if expires_at is not None and expires_at <= now:
        raise StaffError("expires_at: must be in the future")
    token = "rt_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user=user, token_hash=hash_token(token), label=label, created_at=now,
                         expires_at=expires_at))
    record(session, actor=actor, action="token.issued", entity_type="staff", entity_id=user.id, now=now,
           changes={"label": label, "expires_at": expires_at.isoformat() if expires_at else None})
    return token


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_for_request(session: Session, token: str, now: dt.datetime) -> ApiToken | None:
    """The live token (not revoked, not expired, its user active) behind a bearer value, or None."""
    if not token or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token),
                                                ApiToken.revoked_at.is_(None)))
    if row is None or row.status(now) != "active" or not row.user.active:
        return None
    return row


def touch_token(session: Session, token: ApiToken, now: dt.datetime) -> bool:
    """Write last_used_at, at most once a minute (a conditional UPDATE); whether a write was made."""
    if token.last_used_at is not None and now - token.last_used_at < dt.timedelta(seconds=TOKEN_TOUCH_SECONDS):
        return False
    cutoff = now - dt.timedelta(seconds=TOKEN_TOUCH_SECONDS)
    result = session.execute(update(ApiToken).where(
        ApiToken.id == token.id, (ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at <= cutoff))
        .values(last_used_at=now).execution_options(synchronize_session=False))
    return bool(result.rowcount)


def user_for_token(session: Session, token: str, now: dt.datetime | None = None) -> StaffUser | None:
    """The active staff member a live bearer token belongs to, or None."""
    from retention import clock

    row = token_for_request(session, token, now or clock.now())
    return row.user if row is not None else None


def list_tokens(session: Session, user_id: int | None = None) -> list[ApiToken]:
    """Tokens, newest first (optionally one user's)."""
    query = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return list(session.scalars(query))


def _token(session: Session, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise StaffError(f"token: no token {token_id}")
    return row


def revoke_token(session: Session, token_id: int, *, actor: str, now: dt.datetime) -> ApiToken:
    """Stop a token working, now and for good."""
    row = _token(session, token_id)
    if row.revoked_at is None:
        row.revoked_at = now
        record(session, actor=actor, action="token.revoked", entity_type="api_token", entity_id=row.id, now=now,
               changes={"user_id": row.user_id, "label": row.label})
    return row


def expire_token(session: Session, token_id: int, *, at: dt.datetime, actor: str, now: dt.datetime) -> ApiToken:
    """Set when a token stops working (now or a later time)."""
    row = _token(session, token_id)
    if row.revoked_at is not None:
        raise StaffError("token: already revoked")
    if at.tzinfo is None:
        raise StaffError("expires_at: give a time zone")
    if at.year < 2000 or at.year > 9000:
        raise StaffError("expires_at: out of range")
    at = max(at, now)
    before = row.expires_at
    row.expires_at = at
    record(session, actor=actor, action="token.expiry_set", entity_type="api_token", entity_id=row.id, now=now,
           changes={"expires_at": [before.isoformat() if before else None, at.isoformat()]})
    return row


def list_staff(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.email)))


def find_staff(session: Session, email_or_id: str | int) -> StaffUser:
    """A staff member by id or email; StaffError when there is none."""
    if isinstance(email_or_id, int):
        user = session.get(StaffUser, email_or_id)
    else:
        user = session.scalar(select(StaffUser).where(StaffUser.email == str(email_or_id).strip().lower()))
    if user is None:
        raise StaffError(f"staff: no staff user {email_or_id}")
    return user


def _keep_an_admin(session: Session, user: StaffUser) -> None:
    """Refuse a change that takes away the last active admin (rows locked on PostgreSQL against a race)."""
    if user.role != "admin" or not user.active:
        return
    admins = session.scalars(select(StaffUser.id).where(StaffUser.role == "admin", StaffUser.active.is_(True))
                             .with_for_update()).all()
    if admins == [user.id] or len(admins) <= 1:
        raise LastAdminError(f"role: {user.email} is the last active admin; make another admin first")


def deactivate(session: Session, user: StaffUser, *, actor: str, now: dt.datetime) -> StaffUser:
    """Stop someone signing in or using the API; their sessions end at once. Their work stays theirs."""
    from retention.staff.sessions import end_sessions_of

    if not user.active:
        return user
    _keep_an_admin(session, user)
    user.active = False
    end_sessions_of(session, user.id, now=now, reason="deactivated")
    record(session, actor=actor, action="staff.deactivated", entity_type="staff", entity_id=user.id, now=now)
    return user


def reactivate(session: Session, user: StaffUser, *, actor: str, now: dt.datetime) -> StaffUser:
    if user.active:
        return user
    user.active = True
    record(session, actor=actor, action="staff.reactivated", entity_type="staff", entity_id=user.id, now=now)
    return user


def change_role(session: Session, user: StaffUser, role: str, *, actor: str, now: dt.datetime) -> StaffUser:
    """Give someone another role; their sessions end, so the new role applies from their next sign-in."""
    from retention.staff.sessions import end_sessions_of

    if role not in ROLES:
        raise StaffError(f"role: must be one of {', '.join(ROLES)}")
    if role == user.role:
        return user
    if role != "admin":
        _keep_an_admin(session, user)
    before = user.role
    user.role = role
    end_sessions_of(session, user.id, now=now, reason="role changed")
    record(session, actor=actor, action="staff.role_changed", entity_type="staff", entity_id=user.id, now=now,
           changes={"role": [before, role]})
    return user


def reset_password(session: Session, hasher: PasswordHasher, user: StaffUser, password: str, *, actor: str,
                   now: dt.datetime) -> StaffUser:
    """Set a new password; every session of the account ends."""
    from retention.staff.sessions import end_sessions_of

    if len(password) < 8:
        raise StaffError("password: at least 8 characters")
    if len(password) > 1000:
        raise StaffError("password: at most 1000 characters")
    user.password_hash = hasher.hash(password)
    end_sessions_of(session, user.id, now=now, reason="password reset")
    record(session, actor=actor, action="staff.password_reset", entity_type="staff", entity_id=user.id, now=now)
    return user
