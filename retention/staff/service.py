"""Rules about staff: passwords (argon2id), API tokens, and slowing down password guessing."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from retention.audit.service import record
from retention.staff.models import ROLES, ApiToken, LoginAttempt, StaffUser


class StaffError(ValueError):
    """A staff change that cannot be made; the message names the field."""


def password_hasher(time_cost: int = 3, memory_kib: int = 65536) -> PasswordHasher:
    """An argon2id hasher with the configured cost."""
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


def create_user(session: Session, hasher: PasswordHasher, *, email: str, role: str, password: str,
                name: str = "", actor: str, now: dt.datetime, **details) -> StaffUser:
    """Create a staff account; refuses unknown roles, short passwords and taken emails."""
    email = email.strip().lower()
    if "@" not in email:
        raise StaffError("email: not an email address")
    if role not in ROLES:
        raise StaffError(f"role: must be one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise StaffError("password: at least 8 characters")
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


def login_throttled(session: Session, keys: list[str], now: dt.datetime, max_failures: int,
                    window_seconds: int) -> int:
    """Seconds to wait before another try, or 0: too many failures for this email or address."""
    since = now - dt.timedelta(seconds=window_seconds)
    wait = 0
    for key in keys:
        rows = session.execute(select(func.count(), func.min(LoginAttempt.at))
                               .where(LoginAttempt.key == key, LoginAttempt.at > since)).one()
        count, oldest = rows
        if count >= max_failures and oldest is not None:
            wait = max(wait, int((oldest + dt.timedelta(seconds=window_seconds) - now).total_seconds()) + 1)
    return wait


def record_failure(session: Session, keys: list[str], now: dt.datetime) -> None:
    """Remember a failed sign-in for each key (email and client address)."""
    for key in keys:
        session.add(LoginAttempt(key=key, at=now))


def clear_failures(session: Session, key: str) -> None:
    """A successful sign-in forgets that account's failures."""
    session.execute(delete(LoginAttempt).where(LoginAttempt.key == key))


def issue_token(session: Session, user: StaffUser, *, actor: str, now: dt.datetime, label: str = "") -> str:
    """Create an API token for a user and return it; only its hash is kept."""
    token = "rt_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user=user, token_hash=hash_token(token), label=label, created_at=now))
    record(session, actor=actor, action="token.issued", entity_type="staff", entity_id=user.id, now=now,
           changes={"label": label})
    return token


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_for_token(session: Session, token: str) -> StaffUser | None:
    """The active staff member a bearer token belongs to, or None."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token),
                                                ApiToken.revoked_at.is_(None)))
    if row is None or not row.user.active:
        return None
    return row.user
