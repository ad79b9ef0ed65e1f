"""A live server on a free port and headless Debian Chromium driven by Playwright.

One browser for the whole run (each test gets a fresh context, so cookies never leak between tests).
`live_server` serves the test's own app; `demo_site` serves one seeded app to every test of a module
(the cross-page and per-role tests), with a signed-in context per role and language.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import threading
from dataclasses import dataclass, field

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--font-render-hinting=none"]
LANGUAGES = ("en", "ar", "fa")
ROLES = ("onboarding", "marketing", "print", "admin")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@contextlib.contextmanager
def serve(app):
    """Serve `app` on 127.0.0.1 in a thread; yields its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()


@pytest.fixture
def live_server(app):
    """Serve the test app on 127.0.0.1 in a thread; yields its base URL."""
    with serve(app) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium, once per run; a missing browser fails in CI and skips only on a laptop without it."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (/usr/bin/chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def login(page, base: str, email: str, password: str = "correct-horse-battery") -> None:
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")


def staff_email(role: str, language: str) -> str:
    """The demo site's staff member of this role reading in this language."""
    return f"{role}-{language}@example.com"


@dataclass
class DemoSite:
    """A seeded app served on a free port, and what the tests need to find in it."""

    app: object
    url: str
    browser: object
    values: dict = field(default_factory=dict)  # route argument name -> candidate values
    _contexts: dict = field(default_factory=dict)

    def context(self, role: str, language: str, viewport: dict = PHONE):
        """A browser context signed in as `role` reading in `language` (kept for the module)."""
        key = (role, language, viewport["width"])
        if key not in self._contexts:
            context = self.browser.new_context(viewport=viewport)
            context.set_default_timeout(15000)
            page = context.new_page()
            login(page, self.url, staff_email(role, language))
            page.wait_for_load_state()
            assert "/login" not in page.url, f"{staff_email(role, language)} could not sign in"
            page.close()
            self._contexts[key] = context
        return self._contexts[key]

    def close(self):
        for context in self._contexts.values():
            context.close()


def _seed_demo(app, now: dt.datetime) -> dict:
    """The demo data (as `flask seed` makes it), a staff member per role and language, and a print batch."""
    from sqlalchemy import select

    from retention.customers.models import Customer
    from retention.extensions import db
    from retention.hooks.models import InboundEvent
    from retention.journeys.models import OPEN, SCHEDULED, Journey, Touchpoint
    from retention.postal.batches import create_batch
    from retention.postal.models import Letter, LetterTemplate
    from retention.seed import seed
    from retention.staff.models import StaffUser
    from retention.staff.service import create_user
    from tests.factories import PASSWORD

    seed(db.session, app, customers=42, now=now)
    zones = {"en": ("Europe/London", "GB"), "ar": ("Asia/Dubai", "AE"), "fa": ("Asia/Tehran", "IR")}
    names = {"en": "Robin Reader", "ar": "رنا القارئ", "fa": "رضا خواننده"}
    for role in ROLES:
        for language in LANGUAGES:
            zone, country = zones[language]
            create_user(db.session, app.extensions["password_hasher"], email=staff_email(role, language),
                        role=role, password=PASSWORD, name=f"{names[language]} {role[:3]}", actor="test",
                        now=now, locale=language, timezone=zone, country=country,
                        work_start="00:00", work_end="23:59")
    db.session.commit()
    # Each onboarding reader gets a call that is due and one coming up, so My calls shows real cards in every
    # language (the first, due, is the one the role test logs).
    due = db.session.scalars(select(Touchpoint).where(
        Touchpoint.kind == "call", Touchpoint.status == OPEN, Touchpoint.due_at <= now)
        .order_by(Touchpoint.id).limit(len(LANGUAGES))).all()
    soon = db.session.scalars(select(Touchpoint).where(
        Touchpoint.kind == "call", Touchpoint.status == SCHEDULED, Touchpoint.due_at > now,
        Touchpoint.due_at <= now + dt.timedelta(days=5)).order_by(Touchpoint.due_at).limit(len(LANGUAGES))).all()
    assert len(due) == len(LANGUAGES), "the demo has too few calls that are due"
    calls = {}
    for i, language in enumerate(LANGUAGES):
        owner = db.session.scalar(select(StaffUser).where(StaffUser.email == staff_email("onboarding", language)))
        for tp in [due[i]] + soon[i:i + 1]:
            tp.owner_id = owner.id
            calls.setdefault(language, []).append(tp.customer.external_id)
    db.session.commit()
    batch = create_batch(db.session, filters={}, duplex=False, actor="test", now=now)
    db.session.commit()
    customers = db.session.scalars(select(Customer.external_id).order_by(Customer.id)).all()
    # a Persian-speaking customer first: their right-to-left data inside every language's page
    persian = db.session.scalars(select(Customer.external_id).where(Customer.locale == "fa")
                                 .order_by(Customer.id)).all()
    keys = sorted(set(db.session.scalars(select(Journey.key))) | set(db.session.scalars(select(LetterTemplate.key))))
    return {
        "calls": calls,  # language -> customers whose due calls the onboarding reader of that language owns
        "external_id": persian[:1] + customers[:1],
        "customer_id": persian[:1] + customers[:1],
        "key": keys,
        "language": ["en", "ar", "fa"],
        "batch_id": [batch.id],
        "letter_id": db.session.scalars(select(Letter.id).order_by(Letter.id).limit(2)).all(),
        "event_id": db.session.scalars(select(InboundEvent.id).order_by(InboundEvent.id).limit(2)).all(),
        "user_id": db.session.scalars(select(StaffUser.id).order_by(StaffUser.id).limit(2)).all(),
        "staff_id": db.session.scalars(select(StaffUser.id).order_by(StaffUser.id).limit(2)).all(),
        "journey_key": keys,
        "template_key": keys,
    }


@pytest.fixture(scope="module")
def demo_site(_schema, browser):
    """One seeded app and server for a whole module (its tests only read, or change what they own)."""
    from retention.extensions import db
    from tests.conftest import _empty_tables, make_app

    app = make_app()
    _empty_tables(app)
    queue = app.extensions["retention_queue"]
    if queue.kind == "redis":
        queue.connection.flushdb()
    ctx = app.app_context()
    ctx.push()
    try:
        values = _seed_demo(app, dt.datetime.now(dt.timezone.utc))
        with serve(app) as url:
            site = DemoSite(app=app, url=url, browser=browser, values=values)
            yield site
            site.close()
    finally:
        db.session.remove()
        ctx.pop()
        with app.app_context():
            db.engine.dispose()
