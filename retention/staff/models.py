"""Staff users, their API tokens, signed-in sessions and counted sign-in attempts."""
from __future__ import annotations

import datetime as dt

from flask_login import UserMixin
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from retention.extensions import db
from retention.types import UTCDateTime, utcnow

ROLES = ("onboarding", "marketing", "print", "admin")
# What each role is called on the pages (the role badge, the admin's staff list).
ROLE_LABELS = {"onboarding": _l("Onboarding"), "marketing": _l("Marketing"), "print": _l("Mail room"),
               "admin": _l("Admin")}


class StaffUser(UserMixin, db.Model):
    """A person who signs in: onboarding staff, marketing, the mail room or an admin."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(200), default="")
    # Name and title as letters in other scripts sign them: {"ar": {"name": "سارة أحمدي", "title": "خدمة العملاء"},
    # "fa": {...}}; a language without an entry signs with `name` and `title` (signature_for).
    letter_signatures: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(10), default="en")
    # The digits the pages use for this reader ("" = the language's own: Arabic-Indic for ar, Persian for fa).
    digits: Mapped[str] = mapped_column(String(8), default="", server_default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # The languages this person speaks with customers (base codes: "en", "ar", "fa"...): new customers go to
    # an owner who speaks theirs (retention/journeys/planning.py OwnerPicker).
    languages: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    # Working hours in the staff member's own zone; calls are placed inside them.
    work_start: Mapped[str] = mapped_column(String(5), default="09:00")
    work_end: Mapped[str] = mapped_column(String(5), default="17:00")
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    daily_call_capacity: Mapped[int] = mapped_column(default=25)
    # Goodwill concessions this person may grant on a complaint without approval, per currency:
    # {"GBP": "50.00", "IRR": "2000000"} (Decimal strings); a currency not listed means no limit of their own (0).
    concession_limits: Mapped[dict | None] = mapped_column(JSON, nullable=True)
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

    def signature_for(self, language: str | None) -> tuple[str, str]:
        """(name, title) that sign a letter in the language: the entry for it in `letter_signatures`
        (Arabic and Persian letters are signed in Arabic script), else the name and title as written."""
        entry = (self.letter_signatures or {}).get(base_language(language)) or {}
        return (entry.get("name") or self.display_name, entry.get("title") or self.title or "")

    @property
    def role_label(self) -> str:
        """The role as the reader calls it ("Mail room", "واحد البريد")."""
        return str(ROLE_LABELS.get(self.role, self.role))

    def speaks(self, language: str | None) -> bool:
        """Whether this person speaks the language (a base code, or a locale such as "fa-IR")."""
        return base_language(language) in (self.languages or ())


def base_language(locale: str | None) -> str:
    """The base language of a locale: "fa-IR" and "fa_IR" -> "fa"; empty -> ""."""
    return (locale or "").strip().replace("_", "-").split("-")[0].lower()


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


class StaffAbsence(db.Model):
    """A stretch of days a staff member is away (holiday, sick): `starts_on` to `ends_on` inclusive, days of
    their own calendar (their time zone). While away, nobody new is given to them and the calls due are
    covered by a colleague who is in (retention/staff/absences.py, retention/journeys/cover.py)."""

    __tablename__ = "staff_absences"
    __table_args__ = (Index("ix_staff_absences_staff_starts", "staff_id", "starts_on"),
                      Index("ix_staff_absences_ends_on", "ends_on"))

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # Who entered it (None: the CLI or a script); `created_at` when.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    staff: Mapped[StaffUser] = relationship(foreign_keys=[staff_id])
    created_by: Mapped[StaffUser | None] = relationship(foreign_keys=[created_by_id])

    @property
    def days(self) -> int:
        """How many calendar days it covers (both ends counted)."""
        return (self.ends_on - self.starts_on).days + 1
