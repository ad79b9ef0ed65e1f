"""Settings read from the environment, in one place."""
from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

DEVELOPMENT = "development"


def _instance_path() -> Path:
    """Where the embedded database and generated files live."""
    return Path(os.environ.get("RETENTION_INSTANCE_PATH", Path(__file__).resolve().parent.parent / "instance"))


def _days(env, name: str, default: str) -> int:
    """A whole number of days from 1 to 36500, or the app refuses to start naming the variable."""
    text = env.get(name) or default
    if not (text.strip().isascii() and text.strip().isdigit()) or not 1 <= int(text) <= 36500:
        raise RuntimeError(f"{name}: a whole number of days from 1 to 36500, got {text[:40]!r}")
    return int(text)


def _verify_days(env) -> int:
    """RETENTION_COMPLAINT_VERIFY_AFTER_DAYS: 1 to 300 business days (a call is planned at most a year ahead)."""
    days = _days(env, "RETENTION_COMPLAINT_VERIFY_AFTER_DAYS", "3")
    if days > 300:
        raise RuntimeError(f"RETENTION_COMPLAINT_VERIFY_AFTER_DAYS: at most 300 business days, got {days}")
    return days


def _development_secret(instance: Path) -> str:
    """A random key kept under instance/ so development sessions survive a restart."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def _development_webhook_secret(instance: Path) -> str:
    """A webhook secret kept under instance/ so `make run` accepts signed events from the first minute."""
    from retention.hooks.signatures import new_secret

    path = instance / "webhook_secret"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(new_secret())
    return path.read_text().strip()


def _webhook_secrets(config: dict, generated: bool) -> None:
    """Refuse to start on a malformed or short secret; warn loudly when none is set."""
    from retention.hooks.signatures import SECRETS_SETTING, check_secrets

    configured = config["WEBHOOK_SECRETS"]
    if isinstance(configured, str):
        configured = configured.split()
    config["WEBHOOK_SECRETS"] = check_secrets(configured)
    config["WEBHOOK_SECRET_GENERATED"] = generated and bool(config["WEBHOOK_SECRETS"])
    if not config["WEBHOOK_SECRETS"]:
        logging.getLogger(__name__).warning(
            "%s is not set: every event sent to POST /hooks/events will be refused with 401.", SECRETS_SETTING)


def _complaint_sla(env, company_country: str) -> dict:
    """Complaint targets and trends (retention/complaints/sla.py, trends.py); a malformed value stops the app at start.

    RETENTION_COMPLAINT_SLA_HOURS: business hours to the first response / to a solution, per severity;
    RETENTION_COMPLAINT_CALENDAR: "<country> <zone> <HH:MM>-<HH:MM>", the calendar of cases without an owner.
    """
    from decimal import Decimal, InvalidOperation
    from zoneinfo import ZoneInfo

    def fail(name: str, expected: str, text: str):
        raise RuntimeError(f"{name}: {expected}, got {text[:80]!r}")

    name = "RETENTION_COMPLAINT_SLA_HOURS"
    text = env.get(name) or "critical=1/8 high=4/16 medium=8/40 low=16/80"
    table = {}
    try:
        for part in text.split():
            severity, hours = part.split("=", 1)
            first, resolution = (Decimal(h) for h in hours.split("/", 1))
            if not (0 < first <= resolution <= 10000):
                raise ValueError(part)
            table[severity.strip().lower()] = (first, resolution)
    except (ValueError, InvalidOperation):
        fail(name, "severity=first/resolution business hours, e.g. high=4/16", text)
    if set(table) != {"low", "medium", "high", "critical"}:
        fail(name, "one entry for each of low, medium, high, critical", text)
    name = "RETENTION_COMPLAINT_HIGH_ROLLER_FACTOR"
    text = env.get(name) or "0.5"
    try:
        factor = Decimal(text)
    except InvalidOperation:
        factor = Decimal(-1)
    if not 0 < factor <= 1:
        fail(name, "a number above 0 and at most 1", text)
    name = "RETENTION_COMPLAINT_CALENDAR"
    company_country = company_country if len(company_country) == 2 and company_country.isalpha() else "GB"
    text = env.get(name) or f"{company_country} Europe/London 09:00-17:00"
    try:
        country, zone, hours = text.split()
        start, end = hours.split("-", 1)
        ZoneInfo(zone)
        if not (len(country) == 2 and country.isalpha() and start < end
                and all(len(h) == 5 and h[2] == ":" and h[:2].isdigit() and h[3:].isdigit() for h in (start, end))):
            raise ValueError(text)
    except Exception:
        fail(name, "country zone start-end, e.g. GB Europe/London 09:00-17:00", text)
    numbers = {}
    for key, name, default in (("COMPLAINT_TREND_THRESHOLD", "RETENTION_COMPLAINT_TREND_THRESHOLD", "3"),
                               ("COMPLAINT_NEAR_BREACH_HOURS", "RETENTION_COMPLAINT_NEAR_BREACH_HOURS", "2")):
        text = env.get(name) or default
        if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 1000):
            fail(name, "a whole number from 1 to 1000", text)
        numbers[key] = int(text)
    urgent = env.get("RETENTION_COMPLAINT_URGENT_CATEGORIES")
    return {"COMPLAINT_SLA_HOURS": table, "COMPLAINT_HIGH_ROLLER_FACTOR": factor,
            "COMPLAINT_URGENT_CATEGORIES": tuple((urgent if urgent is not None else "outage deadline").split()),
            "COMPLAINT_CALENDAR": {"country": country.upper(), "timezone": zone, "work_start": start,
                                   "work_end": end}, **numbers}


def _complaint_types(env) -> dict:
    """Customer-type suggestions (retention/complaints/types.py); a malformed value stops the app at start.

    RETENTION_COMPLAINT_CHRONIC_COUNT: cases in 90 days that suggest "chronic complainer" (2 to 100);
    RETENTION_COMPLAINT_HIGH_ROLLER_MIN: "EUR=2000 USD=2500", a purchase of at least this suggests "high-roller".
    """
    from decimal import Decimal, InvalidOperation

    name = "RETENTION_COMPLAINT_CHRONIC_COUNT"
    text = env.get(name) or "3"
    if not (text.strip().isascii() and text.strip().isdigit()) or not 2 <= int(text) <= 100:
        raise RuntimeError(f"{name}: a whole number from 2 to 100, got {text[:40]!r}")
    count = int(text)
    name = "RETENTION_COMPLAINT_HIGH_ROLLER_MIN"
    text = env.get(name) or ""
    minimums = {}
    for part in text.split():
        currency, _, amount = part.partition("=")
        try:
            value = Decimal(amount)
        except InvalidOperation:
            value = Decimal(-1)
        if len(currency) != 3 or not currency.isalpha() or not value.is_finite() or value <= 0:
            raise RuntimeError(f"{name}: CURRENCY=amount pairs, e.g. EUR=2000 USD=2500, got {text[:80]!r}")
        minimums[currency.upper()] = value
    return {"COMPLAINT_CHRONIC_COUNT": count, "COMPLAINT_HIGH_ROLLER_MIN": minimums}


def _check_smtp_url(url: str | None) -> None:
    """Refuse to start on an SMTP_URL the mail transport cannot use (retention/mail/transport.py)."""
    if not url:
        return
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise RuntimeError(f"SMTP_URL: smtp://user:pass@host:port or smtps://...: {exc}") from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise RuntimeError("SMTP_URL: smtp://user:pass@host:port (?starttls) or smtps://user:pass@host:port")


def from_environment(overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from environment variables and explicit overrides."""
    env = os.environ
    overrides = dict(overrides or {})
    instance = Path(overrides.get("INSTANCE_PATH") or _instance_path())
    # The embedded database and print files live here, whichever way the key is given.
    instance.mkdir(parents=True, exist_ok=True)
    run_env = overrides.get("RETENTION_ENV") or env.get("RETENTION_ENV", "production")
    testing = bool(overrides.get("TESTING"))
    database_url = overrides.get("DATABASE_URL") or env.get("DATABASE_URL") or f"sqlite:///{instance / 'retention.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url[len("postgres://"):]
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]

    secret_key = overrides.get("SECRET_KEY") or env.get("SECRET_KEY")
    if not secret_key:
        if run_env == DEVELOPMENT or testing:
            secret_key = _development_secret(instance) if not testing else secrets.token_hex(32)
        else:
            raise RuntimeError(
                "SECRET_KEY is not set. It is required outside development "
                "(set RETENTION_ENV=development for a local run)."
            )

    webhook_secrets = env.get("RETENTION_WEBHOOK_SECRETS", "").split()
    webhook_secret_generated = False
    if not webhook_secrets and run_env == DEVELOPMENT and not testing and "WEBHOOK_SECRETS" not in overrides:
        webhook_secrets = [_development_webhook_secret(instance)]
        webhook_secret_generated = True

    config = {
        "RETENTION_ENV": run_env,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {},  # connections are pinged after idle only: retention/dbpool.py
        "REDIS_URL": overrides.get("REDIS_URL", env.get("REDIS_URL") or None),
        "QUEUE_NAME": env.get("RETENTION_QUEUE", "retention"),
        # The embedded queue runs jobs on a thread of the web process; tests drain it by hand.
        "EMBEDDED_WORKER_THREAD": not testing,
        # The garbage collector set for a long-running server once per process (retention/gctune.py); 0: off.
        "GC_TUNING": env.get("RETENTION_GC_TUNING", "1") != "0",
        "TICK_SECONDS": int(env.get("RETENTION_TICK_SECONDS", "60")),
        "WEBHOOK_SECRETS": webhook_secrets,
        "WEBHOOK_TOLERANCE_SECONDS": 300,
        "WEBHOOK_MAX_BYTES": 256 * 1024,
        # Email (retention/mail/): smtp://user:pass@host:port (smtps://, ?starttls); unset -> .eml files in the outbox
        # folder (the embedded default; /admin/outbox shows them). PUBLIC_URL: where customers' links point.
        "SMTP_URL": env.get("SMTP_URL") or None,
        "MAIL_OUTBOX_DIR": env.get("RETENTION_MAIL_OUTBOX_DIR") or str(instance / "outbox"),
        "MAIL_FROM": env.get("RETENTION_MAIL_FROM", "Demo Shop <care@shop.example.com>"),
        "MAIL_UNSUBSCRIBE_MAILTO": env.get("RETENTION_MAIL_UNSUBSCRIBE_MAILTO") or None,
        "MAIL_MAX_ATTEMPTS": int(env.get("RETENTION_MAIL_MAX_ATTEMPTS", "8")),
        "MAIL_SMTP_TIMEOUT": float(env.get("RETENTION_MAIL_SMTP_TIMEOUT", "20")),
        "MAIL_BATCH_SIZE": 200,
        "PUBLIC_URL": env.get("RETENTION_PUBLIC_URL", "http://127.0.0.1:5000"),
        "PRINT_PATH": str(instance / "print"),
        "COMPANY_WEBSITE": env.get("RETENTION_COMPANY_WEBSITE", "https://shop.example.com"),
        "COMPANY_PHONE": env.get("RETENTION_COMPANY_PHONE", "+44 20 7946 0000"),
        # Where letters are posted from (ISO 3166-1 alpha-2: mail within it prints no country line) and the paper
        # its printer holds: A4 + DL/C5 window envelopes, or LETTER + #10; empty = the usual one in that country.
        "COMPANY_COUNTRY": env.get("RETENTION_COMPANY_COUNTRY", "GB").upper(),
        "LETTER_PAPER": env.get("RETENTION_LETTER_PAPER", ""),
        "EVENT_BATCH_SIZE": 2000,
        "EVENT_MAX_ATTEMPTS": 8,
        # The tick keeps growing tables in check (retention/upkeep.py): processed events keep only what the timeline
        # shows after this many days; each table loses at most PRUNE_BATCH rows per tick.
        "EVENT_PAYLOAD_DAYS": _days(env, "RETENTION_EVENT_PAYLOAD_DAYS", "90"),
        "PRUNE_BATCH": 1000,
        # Complaint targets, take-over and trend alerts (retention/complaints/sla.py, escalation.py, trends.py).
        **_complaint_sla(env, env.get("RETENTION_COMPANY_COUNTRY", "GB").upper()),
        # A complaint's solution is checked by a call to the customer this many business days later.
        "COMPLAINT_VERIFY_AFTER_DAYS": _verify_days(env),
        # Customer-type suggestions from history: chronic complainer, high-roller (retention/complaints/types.py).
        **_complaint_types(env),
        # NPS surveys (retention/surveys/): no second survey within the cooldown; a link works this long after
        # sending; a one-click score is followed up (case, call) once it has settled this many minutes.
        "SURVEY_COOLDOWN_DAYS": _days(env, "RETENTION_SURVEY_COOLDOWN_DAYS", "30"),
        "SURVEY_OPEN_DAYS": _days(env, "RETENTION_SURVEY_OPEN_DAYS", "14"),
        "SURVEY_SETTLE_MINUTES": 10,
        # Work rows of handed-out touchpoints (surveys, letters, offers, emails) the tick writes itself after its
        # hand-out (retention/journeys/handout.py: write_handed_work); more go to a worker job (jobs.handout.write_work),
        # this many per job run, the next queued while any are left.
        "HANDED_WORK_PER_TICK": 5000,
        "HANDED_WORK_PER_JOB": 20000,
        # Surveys the tick sends itself (rules, email queued or letter); more waiting go to a worker job
        # (jobs.surveys.send_surveys), this many per job run, the next queued while any are left.
        "SURVEY_SEND_PER_TICK": 200,
        "SURVEY_SEND_PER_JOB": 2000,
        # The public survey page: visits per client address and per survey link within LOGIN_WINDOW_SECONDS.
        "SURVEY_MAX_PER_ADDRESS": 120,
        "SURVEY_MAX_PER_LINK": 40,
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_WINDOW_SECONDS": 15 * 60,
        # Failures counted per (account, address) use LOGIN_MAX_FAILURES; one address across all accounts this:
        "LOGIN_MAX_FAILURES_PER_ADDRESS": int(env.get("RETENTION_LOGIN_MAX_FAILURES_PER_ADDRESS", "30")),
        # How many proxies in front of the app set X-Forwarded-For/-Proto (0: use the socket's address).
        "TRUSTED_PROXIES": int(env.get("RETENTION_TRUSTED_PROXIES", "0")),
        # A staff session ends after this long without a request (default: a working day, 10 hours).
        "SESSION_IDLE_SECONDS": int(float(env.get("RETENTION_SESSION_IDLE_HOURS", "10")) * 3600),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": run_env != DEVELOPMENT and not testing,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": run_env != DEVELOPMENT and not testing,
        "WTF_CSRF_TIME_LIMIT": None,
        # argon2id cost; tests lower it so a suite with many logins stays quick.
        "PASSWORD_HASH_TIME_COST": 3,
        "PASSWORD_HASH_MEMORY_KIB": 65536,
        "API_TITLE": "Retention engine API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "COMPANY_NAME": env.get("RETENTION_COMPANY_NAME", "Demo Shop"),
        # Letter templates (retention/postal/sandbox.py): enforced in preview, save and print batches.
        "LETTER_MAX_TEMPLATE_CHARS": int(env.get("RETENTION_LETTER_MAX_TEMPLATE_CHARS", "20000")),
        "LETTER_MAX_OUTPUT_CHARS": int(env.get("RETENTION_LETTER_MAX_OUTPUT_CHARS", "100000")),
        "LETTER_MAX_PAGES": int(env.get("RETENTION_LETTER_MAX_PAGES", "10")),
        "LETTER_MAX_LOOP_STEPS": int(env.get("RETENTION_LETTER_MAX_LOOP_STEPS", "10000")),
        "LETTER_MAX_RENDER_SECONDS": float(env.get("RETENTION_LETTER_MAX_RENDER_SECONDS", "2")),
    }
    config.update(overrides)
    config["SQLALCHEMY_DATABASE_URI"] = database_url
    _check_smtp_url(config.get("SMTP_URL"))
    _webhook_secrets(config, generated=webhook_secret_generated)
    return config
