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
from retention.staff.models import ROLES, ApiToken, LoginThrottle, StaffUser, base_language
from retention.types import UTCDateTime


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown (StaffError.localized)."""
    return message


# The name of each field as the pages call it (errors name the field in the reader's language).
def _field_labels() -> dict:
    from flask_babel import lazy_gettext as _l

    return {"email": _l("Email"), "role": _l("Role"), "password": _l("Password"), "label": _l("Label"),
            "expires_at": _l("Expires on"), "expires_on": _l("Expires on"), "user_id": _l("Staff member"),
            "token": _l("Token"), "staff": _l("Staff member"), "locale": _l("Language of the pages"),
            "digits": _l("Digits"), "timezone": _l("Time zone"), "languages": _l("Languages you speak"),
            "signature": _l("How you sign letters")}


SIGNATURE_LANGUAGES = ("en", "ar", "fa")
SIGNATURE_MAX = 100


def check_signatures(signatures: dict | None) -> dict | None:
    """{language: {"name", "title"}} for the letters this person signs; blank entries are dropped.

    Arabic and Persian letters are signed in Arabic script, so a name given for them must contain some."""
    from retention.validation import bad_character

    if signatures is None:
        return None
    cleaned = {}
    for language in SIGNATURE_LANGUAGES:
        entry = signatures.get(language) or {}
        name, title = ((entry.get(part) or "").strip() for part in ("name", "title"))
        for text in (name, title):
            if len(text) > SIGNATURE_MAX:
                raise StaffError(N_("at most %(limit)s characters"), field="signature", limit=SIGNATURE_MAX)
            if bad_character(text):
                raise StaffError(N_("must not contain control characters"), field="signature")
        if language in ("ar", "fa") and name and not any("\u0600" <= ch <= "\u06ff" or "\ufb50" <= ch <= "\ufdff"
                                                          for ch in name):
            raise StaffError(N_("a name for Arabic and Persian letters is written in Arabic script"),
                             field="signature")
        if name or title:
            cleaned[language] = {"name": name, "title": title}
    return cleaned


class StaffError(ValueError):
    """A staff change that cannot be made; names the field.

    `message` is English with named placeholders filled from `params` (marked with N_ for extraction);
    str(exc) is the English text of the CLI and logs ("password: at least 8 characters"), `localized()`
    the same in the reader's language with the field's label ("Password: at least 8 characters").
    """

    def __init__(self, message: str, *, field: str | None = None, **params):
        self.msgid, self.field, self.params = message, field, params
        text = message % params if params else message
        super().__init__(f"{field}: {text}" if field else text)

    def localized(self) -> str:
        from flask_babel import gettext

        problem = gettext(self.msgid, **self.params) if self.params else gettext(self.msgid)
        if not self.field:
            return problem
        label = str(_field_labels().get(self.field, self.field))
        return gettext("%(subject)s: %(problem)s", subject=label, problem=problem)


# Languages a person may say they speak with customers (base codes; their names come from Babel in the
# reader's language). The customers' own languages come first.
SPOKEN_LANGUAGES = ("en", "ar", "fa", "tr", "ku", "ur", "hi", "de", "fr", "es", "it", "ru", "zh")
DIGIT_CHOICES = ("", "latn", "arab", "arabext")  # "" = the language's own digits


def password_hasher(time_cost: int = 3, memory_kib: int = 65536) -> PasswordHasher:
    """An argon2id hasher with the configured cost."""
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


def create_user(session: Session, hasher: PasswordHasher, *, email: str, role: str, password: str,
                name: str = "", actor: str, now: dt.datetime, **details) -> StaffUser:
    """Create a staff account; refuses unknown roles, short passwords and taken emails."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise StaffError(N_("not an email address"), field="email")
    _check_role(role)
    _check_password(password)
    if session.scalar(select(StaffUser).where(StaffUser.email == email)):
        raise StaffError(N_("%(email)s already has an account"), field="email", email=email)
    # A new person speaks at least the language of their pages (they change it on their settings page).
    details.setdefault("languages", [base_language(details.get("locale")) or "en"])
    details["languages"] = check_languages(details["languages"])
    user = StaffUser(email=email, role=role, name=name or email.split("@")[0].title(),
                     password_hash=hasher.hash(password), created_at=now, **details)
    session.add(user)
    session.flush()
    record(session, actor=actor, action="staff.created", entity_type="staff", entity_id=user.id, now=now,
           changes={"email": email, "role": role})
    return user


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise StaffError(N_("must be one of %(roles)s"), field="role", roles=", ".join(ROLES))


def _check_password(password: str) -> None:
    if len(password) < 8:
        raise StaffError(N_("at least 8 characters"), field="password")
    if len(password) > 1000:
        raise StaffError(N_("at most 1000 characters"), field="password")


def check_languages(languages) -> list[str]:
    """The languages someone speaks, as base codes in SPOKEN_LANGUAGES order; StaffError naming the field."""
    if isinstance(languages, str):
        languages = [part for part in languages.replace(";", ",").split(",")]
    codes = {base_language(code) for code in languages if isinstance(code, str) and code.strip()}
    unknown = sorted(codes - set(SPOKEN_LANGUAGES))
    if unknown:
        raise StaffError(N_("unknown language %(code)s"), field="languages", code=unknown[0][:20])
    if not codes:
        raise StaffError(N_("choose at least one language"), field="languages")
    return [code for code in SPOKEN_LANGUAGES if code in codes]


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
        raise StaffError(N_("at most 100 characters"), field="label")
    if expires_at is not None and expires_at <= now:
        raise StaffError(N_("must be in the future"), field="expires_at")
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
        raise StaffError(N_("no token %(id)s"), field="token", id=token_id)
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
        raise StaffError(N_("already revoked"), field="token")
    if at.tzinfo is None:
        raise StaffError(N_("give a time zone"), field="expires_at")
    if at.year < 2000 or at.year > 9000:
        raise StaffError(N_("out of range"), field="expires_at")
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
        raise StaffError(N_("no staff user %(who)s"), field="staff", who=str(email_or_id)[:254])
    return user


def _keep_an_admin(session: Session, user: StaffUser) -> None:
    """Refuse a change that takes away the last active admin (rows locked on PostgreSQL against a race)."""
    if user.role != "admin" or not user.active:
        return
    admins = session.scalars(select(StaffUser.id).where(StaffUser.role == "admin", StaffUser.active.is_(True))
                             .with_for_update()).all()
    if admins == [user.id] or len(admins) <= 1:
        raise LastAdminError(N_("%(email)s is the last active admin; make another admin first"), field="role",
                             email=user.email)


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

    _check_role(role)
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

    _check_password(password)
    user.password_hash = hasher.hash(password)
    end_sessions_of(session, user.id, now=now, reason="password reset")
    record(session, actor=actor, action="staff.password_reset", entity_type="staff", entity_id=user.id, now=now)
    return user


def set_languages(session: Session, user: StaffUser, languages, *, actor: str, now: dt.datetime) -> StaffUser:
    """Set the languages someone speaks with customers (their own settings page or an admin)."""
    languages = check_languages(languages)
    before = list(user.languages or [])
    if languages != before:
        user.languages = languages
        record(session, actor=actor, action="staff.languages_changed", entity_type="staff", entity_id=user.id,
               now=now, changes={"languages": [before, languages]})
    return user


def update_settings(session: Session, user: StaffUser, *, locale: str, digits: str, timezone: str, languages,
                    actor: str, now: dt.datetime, signatures: dict | None = None) -> dict:
    """A person's own settings: the language and digits of their pages, their time zone, the languages they
    speak. Everything is checked before anything changes; one audit entry lists what changed."""
    from retention.formatting import LANGUAGES
    from retention.validation import ZONES

    if locale not in LANGUAGES:
        raise StaffError(N_("must be one of %(choices)s"), field="locale", choices=", ".join(LANGUAGES))
    if digits not in DIGIT_CHOICES:
        raise StaffError(N_("must be one of %(choices)s"), field="digits", choices=", ".join(d or '""' for d in DIGIT_CHOICES))
    timezone = (timezone or "").strip()
    if timezone not in ZONES:
        raise StaffError(N_("not a time zone name (e.g. Asia/Tehran, Europe/London, UTC)"), field="timezone")
    languages = check_languages(languages)
    fields = [("locale", locale), ("digits", digits), ("timezone", timezone), ("languages", languages)]
    signatures = check_signatures(signatures)
    if signatures is not None:
        fields.append(("letter_signatures", signatures or None))
    changes = {}
    for name, value in fields:
        before = getattr(user, name)
        if before != value:
            changes[name] = [before, value]
            setattr(user, name, value)
    if changes:
        record(session, actor=actor, action="staff.settings_changed", entity_type="staff", entity_id=user.id,
               now=now, changes=changes)
    return changes
