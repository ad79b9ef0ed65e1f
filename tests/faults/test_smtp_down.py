"""The SMTP server goes down in the middle of sending survey emails and comes back later: the emails wait with a
growing pause (no hammering while it is down), then each survey's email arrives exactly once (counted per
Message-ID and per recipient at a real SMTP server, aiosmtpd)."""
from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

from sqlalchemy import select

from retention.extensions import db
from retention.mail.models import OutboundEmail
from retention.mail.sending import backoff
from retention.surveys.models import Survey
from retention.tick import run as run_tick
from tests.conftest import SmtpServer
from tests.surveys.conftest import T0, world  # noqa: F401  (an owner, customers, surveys to send)

SURVEYS = 12
BEFORE_OUTAGE = 4   # the server takes this many emails, then stops while the next one is being sent


class FailingServer(SmtpServer):
    """A real SMTP server that shuts down in the middle of a session after `take` messages (the message in
    flight is refused with 421, as a server going down says), and can be started again on the same port."""

    def __init__(self, take: int):
        super().__init__()
        self.take = take
        handler = self.handler = self.controller.handler
        keep = handler.handle_DATA

        async def handle_DATA(smtp, session, envelope):
            if len(self.messages) >= self.take:
                threading.Thread(target=self.stop).start()
                return "421 4.3.2 Service shutting down"
            return await keep(smtp, session, envelope)

        handler.handle_DATA = handle_DATA

    def stop(self) -> None:
        if self.controller is not None:
            controller, self.controller = self.controller, None
            controller.stop()

    def start_again(self) -> None:
        """The server is back on the same port, taking everything."""
        from aiosmtpd.controller import Controller

        self.take = 10 ** 6
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=True)
        self.controller.start()


def _round(when: dt.datetime, clock, queue) -> None:
    """A tick at `when` and the jobs it queued (the email sender), as the workers run them."""
    clock.set(when)
    run_tick(when)
    queue.drain()


def _emails() -> list[OutboundEmail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboundEmail).order_by(OutboundEmail.id)))


def test_smtp_down_mid_sending_retries_with_backoff_and_sends_each_survey_once(app, world, clock, queue):
    server = FailingServer(take=BEFORE_OUTAGE).start()
    try:
        app.config.update(SMTP_URL=server.url, MAIL_SMTP_TIMEOUT=5)
        surveys = [world.survey(world.customer(f"C{n}", locale=("en", "ar", "fa")[n % 3])) for n in range(SURVEYS)]

        _round(T0, clock, queue)
        emails = _emails()
        assert len(emails) == SURVEYS and len(server.messages) == BEFORE_OUTAGE  # it went down mid-way
        assert Counter(e.status for e in emails) == {"sent": BEFORE_OUTAGE, "queued": SURVEYS - BEFORE_OUTAGE}
        # the email in flight was refused (421) and the others meet a server that is gone: each tried at most
        # once, each to wait a minute (with Redis, one coalesced send job stops at the first failure)
        tried = [e for e in emails if e.status == "queued" and e.attempts == 1]
        assert tried and {e.next_attempt_at for e in tried} == {T0 + backoff(1)}
        assert {e.attempts for e in emails if e.status == "queued"} <= {0, 1}
        if queue.kind == "redis":
            assert len(tried) <= 2

        # while it is down, a tick a minute: each round tries at most one email (the one due longest), and an
        # email tried again waits longer each time: 1, 2, 4 ... minutes
        tries = 0
        for minute in range(1, 21):
            at = T0 + dt.timedelta(minutes=minute)
            before = {e.id: e.attempts for e in _emails() if e.status == "queued"}
            _round(at, clock, queue)
            after = {e.id: e for e in _emails() if e.status == "queued"}
            moved = [i for i in before if after[i].attempts != before[i]]
            assert len(moved) <= 1  # no hammering of a dead server: one send job a tick, stopping at the first failure
            for i in moved:
                tries += 1
                assert after[i].attempts == before[i] + 1 and "cannot reach" in after[i].last_error
                assert after[i].next_attempt_at == at + backoff(after[i].attempts)
        assert tries >= 15 and max(e.attempts for e in _emails()) >= 3
        assert len(server.messages) == BEFORE_OUTAGE

        server.start_again()
        back = max(e.next_attempt_at for e in _emails())
        _round(back, clock, queue)  # back: everything goes out
        _round(back + dt.timedelta(hours=7), clock, queue)  # and nothing again later
    finally:
        server.stop()

    assert Counter(e.status for e in _emails()) == {"sent": SURVEYS}
    by_id = Counter(m["Message-ID"] for m in server.messages)
    by_recipient = Counter(m["To"] for m in server.messages)
    assert len(by_id) == SURVEYS and set(by_id.values()) == {1}             # each email once
    assert len(by_recipient) == SURVEYS and set(by_recipient.values()) == {1}  # each customer one survey email
    assert {e.message_id for e in _emails()} == set(by_id)
    db.session.expire_all()
    assert {s.status for s in db.session.scalars(select(Survey).where(Survey.id.in_([s.id for s in surveys])))} \
        == {"sent"}
