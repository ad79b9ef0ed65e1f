"""Staff users, their API tokens, signed-in sessions and counted sign-in attempts."""
from __future__ import annotations

import datetime as dt

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from retention.extensions import db
from retention.types import UTCDateTime, utcnow

ROLES = ("onboarding", "marketing", "print", "admin")


class StaffUser(UserMixin, db.Model):
    """A person who signs in: onboarding staff, marketing, the mail room or an admin."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(10), default="en")
    # The digits the pages use for this reader ("" = the language's own: Arabic-Indic for ar, Persian for fa).
    digits: Mapped[str] = mapped_column(String(8), default="", server_default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Working hours in the staff member's own zone; calls are placed inside them.
    work_start: Mapped[str] = mapped_column(String(5), default="09:00")
    work_end: Mapped[str] = mapped_column(String(5), default="17:00")
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    daily_call_capacity: Mapped[int] = mapped_column(default=25)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user")

    def has_role(self, *roles: str) -> bool:
        """Admins may do everything; everyone else only what their role allows."""
        return self.active and (self.role == "admin" or self.role in roles)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    @property
    def display_name(self) -> str:
        return self.name or self.email


class ApiToken(db.Model):
    """A bearer token for the REST API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    def status(self, now: dt.datetime) -> str:
        """"revoked", "expired" or "active"."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    user: Mapped[StaffUser] = relationship(back_populates="tokens")


class LoginThrottle(db.Model):
    """Sign-in attempts counted per key ("pair:<email>|<address>" or "addr:<address>") in a fixed window.

    One row per key, bumped by a single atomic upsert before the password is checked, so parallel guesses
    cannot slip past the limit. Rows whose window has ended are purged on each sign-in.
    """

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(default=0)


class StaffSession(db.Model):
    """A signed-in browser: the cookie holds a random id, only its SHA-256 is kept here.

    Ending the row (sign-out, deactivation, role change, password reset, idle too long) ends the session
    whatever copy of the cookie is still around.
    """

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)  # purge of old rows (tick)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)

    user: Mapped[StaffUser] = relationship()
