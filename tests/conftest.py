"""Fixtures: a fresh app per test on SQLite (default) or on PostgreSQL and Redis when
DATABASE_URL / REDIS_URL are set, as CI does."""
from __future__ import annotations

import os
import re
import tempfile

import pytest
from sqlalchemy import text

from retention import create_app
from retention.extensions import db as _db
from tests.factories import SECRET, Signer

_SQLITE_DIR = tempfile.mkdtemp(prefix="retention-tests-")


def _database_url() -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{_SQLITE_DIR}/test.db"


def make_app(**overrides):
    """An app configured for tests; keyword overrides win."""
    config = {
        "TESTING": True,
        "RETENTION_ENV": "testing",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "INSTANCE_PATH": _SQLITE_DIR,
        "WEBHOOK_SECRETS": [SECRET],
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_KIB": 8192,
        "SERVER_NAME": None,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def _schema():
    """Create the tables once per run (the migrations have their own test)."""
    app = make_app()
    with app.app_context():
        _db.drop_all()
        _db.create_all()
        _db.engine.dispose()
    return True


def _empty_tables(app) -> None:
    with app.app_context():
        tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
        with _db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
def app(_schema):
    """A fresh app whose database is empty and whose queue holds nothing."""
    app = make_app()
    _empty_tables(app)
    queue = app.extensions["retention_queue"]
    if queue.kind == "redis":
        queue.connection.flushdb()
    ctx = app.app_context()
    ctx.push()
    yield app
    _db.session.remove()
    ctx.pop()
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def clock(app):
    """The app's clock for pages, API, commands and jobs: `clock.set(when)`, `clock.advance(days=1)`.

    Starts at the real time; set it before signing in (a staff session ends after idle hours of app time).
    """
    from retention import clock as app_clock
    from retention.types import utcnow

    return app_clock.install(app, utcnow())


@pytest.fixture
def queue(app):
    """The app's queue; `queue.drain()` runs what is queued, as a worker would."""
    return app.extensions["retention_queue"]


@pytest.fixture
def signer():
    return Signer(SECRET)


@pytest.fixture
def session(app):
    return _db.session


class Auth:
    """Signs staff in through the real login form (CSRF token included)."""

    def __init__(self, client):
        self.client = client

    def csrf(self, path="/login") -> str:
        page = self.client.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, email, password="correct-horse-battery"):
        return self.client.post("/login", data={"email": email, "password": password, "csrf_token": self.csrf()})


@pytest.fixture
def auth(client):
    return Auth(client)


def free_port() -> int:
    """A TCP port nothing listens on right now (for a server to take, or to stand for one that is down)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServer:
    """A real SMTP server (aiosmtpd) in this process: `.url` for SMTP_URL, `.messages` what it accepted.

    `.refuse = "550 5.7.1 Not today"` makes it answer DATA with that reply (nothing kept) until set back to None.
    """

    def __init__(self):
        import email
        import email.policy

        from aiosmtpd.controller import Controller

        self.messages: list = []
        self.refuse: str | None = None
        self.refused = 0
        server = self

        class Handler:
            async def handle_DATA(self, smtp, session, envelope):
                if server.refuse:
                    server.refused += 1
                    return server.refuse
                server.messages.append(email.message_from_bytes(envelope.original_content or envelope.content,
                                                                policy=email.policy.default))
                return "250 2.0.0 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=True)
        self.url = f"smtp://127.0.0.1:{self.port}"

    def start(self) -> "SmtpServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp_server():
    """A real SMTP server for the test: set `app.config["SMTP_URL"] = smtp_server.url`, read `.messages`."""
    server = SmtpServer().start()
    yield server
    server.stop()
