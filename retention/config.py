"""Settings read from the environment, in one place."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

DEVELOPMENT = "development"


def _instance_path() -> Path:
    """Where the embedded database, the outbox and generated files live."""
    return Path(os.environ.get("RETENTION_INSTANCE_PATH", Path(__file__).resolve().parent.parent / "instance"))


def _development_secret(instance: Path) -> str:
    """A random key kept under instance/ so development sessions survive a restart."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def from_environment(overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from environment variables and explicit overrides."""
    env = os.environ
    overrides = dict(overrides or {})
    instance = Path(overrides.get("INSTANCE_PATH") or _instance_path())
    # The embedded database, the outbox and print files live here, whichever way the key is given.
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

    config = {
        "RETENTION_ENV": run_env,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": overrides.get("REDIS_URL", env.get("REDIS_URL") or None),
        "QUEUE_NAME": env.get("RETENTION_QUEUE", "retention"),
        # The embedded queue runs jobs on a thread of the web process; tests drain it by hand.
        "EMBEDDED_WORKER_THREAD": not testing,
        "TICK_SECONDS": int(env.get("RETENTION_TICK_SECONDS", "60")),
        "WEBHOOK_SECRETS": env.get("RETENTION_WEBHOOK_SECRETS", "").split(),
        "WEBHOOK_TOLERANCE_SECONDS": 300,
        "WEBHOOK_MAX_BYTES": 256 * 1024,
        "SMTP_URL": env.get("SMTP_URL") or None,
        "OUTBOX_PATH": str(instance / "outbox"),
        "PRINT_PATH": str(instance / "print"),
        "COMPANY_WEBSITE": env.get("RETENTION_COMPANY_WEBSITE", "https://shop.example.com"),
        "COMPANY_PHONE": env.get("RETENTION_COMPANY_PHONE", "+44 20 7946 0000"),
        "EVENT_BATCH_SIZE": 2000,
        "EVENT_MAX_ATTEMPTS": 8,
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_WINDOW_SECONDS": 15 * 60,
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
    }
    config.update(overrides)
    config["SQLALCHEMY_DATABASE_URI"] = database_url
    return config
