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

    from retention.complaints.models import Complaint, ComplaintCategory
    from retention.customers.models import Customer
    from retention.extensions import db
    from retention.hooks.models import InboundEvent
    from retention.journeys.models import OPEN, SCHEDULED, Journey, Touchpoint
    from retention.postal.batches import create_batch
    from retention.postal.models import Letter, LetterTemplate
    from retention.referrals.models import ReferralProgram
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
    if len(due) < len(LANGUAGES):  # the demo's own due calls depend on the time of day: open follow-ups as staff would
        from retention.calls.adhoc import open_call

        taken = {tp.customer_id for tp in due}
        for customer in db.session.scalars(select(Customer).where(Customer.owner_id.is_not(None))
                                           .order_by(Customer.id)):
            if len(due) == len(LANGUAGES):
                break
            if customer.id not in taken:
                due.append(open_call(customer, purpose="follow_up", now=now, actor="test", session=db.session))
        db.session.commit()
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
    emails, tokens = _demo_emails(now)
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
        # complaint cases and categories the seed made (retention/seed.py: _demo_complaints)
        "case_id": db.session.scalars(select(Complaint.id).order_by(Complaint.id).limit(2)).all(),
        "category_id": db.session.scalars(select(ComplaintCategory.id).order_by(ComplaintCategory.id).limit(2)).all(),
        "email_id": emails,
        "token": tokens,  # per language: the unsubscribe page speaks its customer's language
        "survey_token": _demo_surveys(now),  # per language: the survey page speaks its customer's language
        "code": _demo_referral_codes(now),  # per language: a friend's referral page speaks its advocate's language
        "program_id": db.session.scalars(select(ReferralProgram.id).order_by(ReferralProgram.id).limit(2)).all(),
    }


def _demo_referral_codes(now: dt.datetime) -> dict[str, list[str]]:
    """A referral offer to a customer of each language with a code the test knows (real ones are random)."""
    from sqlalchemy import select

    from retention.customers.models import Customer
    from retention.extensions import db
    from retention.referrals.models import ReferralOffer, ReferralProgram

    program = db.session.scalar(select(ReferralProgram).order_by(ReferralProgram.id).limit(1))
    found = {}
    for language in LANGUAGES:
        customer = db.session.scalar(select(Customer).where(Customer.locale == language).order_by(Customer.id).limit(1))
        code = f"KEYP{language.upper()}22"
        db.session.add(ReferralOffer(customer_id=customer.id, status="made", created_at=now, program_id=program.id,
                                     code=code, reward_amount=program.reward_floor or 10, currency=program.currency,
                                     expires_at=now + dt.timedelta(days=90), channel="letter"))
        found[language] = [code]
    db.session.commit()
    return found


def _demo_emails(now: dt.datetime) -> tuple[list[int], dict[str, list[str]]]:
    """An email to a customer of each language, sent to the outbox folder, and its unsubscribe link's token."""
    from sqlalchemy import select

    from retention.customers.models import Customer
    from retention.extensions import db
    from retention.mail.sending import send_queued
    from retention.mail.service import queue_email, render_email, token_hash

    ids, tokens = [], {}
    for language in LANGUAGES:
        customer = db.session.scalar(select(Customer).where(Customer.locale == language, Customer.email.is_not(None))
                                     .order_by(Customer.id).limit(1))
        html, text = render_email("message", language, paragraphs=[customer.name])
        row = queue_email(db.session, customer, kind="demo", subject=customer.name, text=text, html=html, now=now,
                          ref=f"demo:{language}")
        token = f"demo-unsubscribe-token-{language}-0123456789"
        row.unsubscribe_hash = token_hash(token)  # a token the test knows (real ones are random, stored hashed)
        ids.append(row.id)
        tokens[language] = [token]
    db.session.commit()
    send_queued(db.session, now)
    return ids, tokens


def _demo_surveys(now: dt.datetime) -> dict[str, list[str]]:
    """A survey sent to a customer of each language, open, with a link token the test knows (real ones are random)."""
    from sqlalchemy import select

    from retention.customers.models import Customer
    from retention.extensions import db
    from retention.surveys import tokens as survey_tokens
    from retention.surveys.models import Survey

    found = {}
    for language in LANGUAGES:
        customer = db.session.scalar(select(Customer).where(Customer.locale == language).order_by(Customer.id).limit(1))
        token = f"demo-survey-token-{language}-0123456789"
        db.session.add(Survey(customer_id=customer.id, status="sent", created_at=now, sent_at=now, channel="email",
                              closes_at=now + dt.timedelta(days=14), token_nonce=survey_tokens.new_nonce(),
                              token_hash=survey_tokens.token_hash(token)))
        found[language] = [token]
    db.session.commit()
    return found


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
