"""Sending: a server that refuses or is down gets the email again later, nothing lost, nothing sent twice."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path

import pytest
from sqlalchemy import select

from retention.extensions import db
from retention.mail.models import OutboundEmail
from retention.mail.sending import backoff, send_queued
from retention.mail.service import queue_email
from tests.conftest import free_port
from tests.factories import in_other_apps, staff
from tests.mail.conftest import NOW, add_customer


def _queue_three():
    rows = []
    for n in range(3):
        customer = add_customer()
        rows.append(queue_email(db.session, customer, kind="test", subject=f"Email {n}", text=f"Body {n}",
                                html=None, now=NOW, ref=f"test:{n}"))
    db.session.commit()
    return [row.id for row in rows]


def _rows(ids):
    db.session.expire_all()
    return [db.session.get(OutboundEmail, i) for i in ids]


def test_a_refusing_server_gets_each_email_again_after_a_growing_wait_and_takes_it_once(smtp_app, smtp_server):
    ids = _queue_three()
    smtp_server.refuse = "550 5.7.1 Mailbox unavailable"
    assert send_queued(db.session, NOW)["retried"] == 3
    assert smtp_server.refused == 3 and smtp_server.messages == []
    rows = _rows(ids)
    assert {r.status for r in rows} == {"queued"} and {r.attempts for r in rows} == {1}
    assert rows[0].next_attempt_at == NOW + backoff(1) and "550" in rows[0].last_error
    assert send_queued(db.session, NOW + dt.timedelta(seconds=30))["sent"] == 0  # not due yet: no hammering
    smtp_server.refuse = None
    later = NOW + dt.timedelta(minutes=5)
    assert send_queued(db.session, later)["sent"] == 3
    send_queued(db.session, later + dt.timedelta(days=1))
    assert sorted(m["Subject"] for m in smtp_server.messages) == ["Email 0", "Email 1", "Email 2"]
    assert {(r.status, r.attempts) for r in _rows(ids)} == {("sent", 2)}


def test_a_server_that_is_down_loses_nothing_and_the_batch_stops_at_the_first_failure(smtp_app, smtp_server):
    ids = _queue_three()
    smtp_app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    counts = send_queued(db.session, NOW)
    assert counts["retried"] == 1 and counts["sent"] == 0
    rows = _rows(ids)
    assert [r.attempts for r in rows] == [1, 0, 0] and {r.status for r in rows} == {"queued"}
    assert "cannot reach" in rows[0].last_error
    smtp_app.config["SMTP_URL"] = smtp_server.url  # back up
    assert send_queued(db.session, NOW + dt.timedelta(hours=1))["sent"] == 3
    assert len(smtp_server.messages) == 3 and {r.status for r in _rows(ids)} == {"sent"}


def _run_while_down(ids, start, until):
    """send_queued at each moment an email falls due, from `start` until `until`, against a server that is down;
    each run tries one email at most (the batch stops at the first "cannot reach"). Returns the runs' times."""
    at, runs = start, []
    while at < until:
        before = {r.id: r.attempts for r in _rows(ids)}
        counts = send_queued(db.session, at)
        runs.append(at)
        after = _rows(ids)
        assert counts["sent"] == 0 and counts["retried"] + counts["failed"] <= 1  # no trying a dead server 200 times
        assert sum(r.attempts - before[r.id] for r in after) <= 1
        queued = [r.next_attempt_at for r in after if r.status == "queued"]
        if not queued:
            break
        at = min(queued)
    return runs


def test_an_smtp_outage_of_hours_fails_no_email_and_they_all_go_once_it_is_back(smtp_app, smtp_server):
    smtp_app.config["MAIL_MAX_ATTEMPTS"] = 2  # a refusal would fail each email on its second try
    ids = _queue_three()
    smtp_app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # a real port nothing listens on
    runs = _run_while_down(ids, NOW, NOW + dt.timedelta(hours=10))
    rows = _rows(ids)
    assert len(runs) > 6 and {r.status for r in rows} == {"queued"}  # ten hours down: nothing failed for good
    assert min(r.attempts for r in rows) > 2 and all("cannot reach" in r.last_error for r in rows)
    assert max(r.next_attempt_at for r in rows) - runs[-1] <= dt.timedelta(hours=6)  # waits of at most six hours
    smtp_app.config["SMTP_URL"] = smtp_server.url  # the server is back
    back = max(r.next_attempt_at for r in rows)
    assert send_queued(db.session, back)["sent"] == 3
    send_queued(db.session, back + dt.timedelta(days=1))
    assert sorted(m["Subject"] for m in smtp_server.messages) == ["Email 0", "Email 1", "Email 2"]  # each once
    assert {r.status for r in _rows(ids)} == {"sent"}


def test_a_server_unreachable_for_five_days_fails_the_email_then_like_a_4xx(smtp_app, smtp_server):
    smtp_app.config["MAIL_MAX_ATTEMPTS"] = 2
    row = queue_email(db.session, add_customer(), kind="test", subject="Down", text="x", html=None, now=NOW,
                      ref="t:down")
    db.session.commit()
    smtp_app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
    runs = _run_while_down([row.id], NOW, NOW + dt.timedelta(days=30))
    [row] = _rows([row.id])
    assert (row.status, row.attempts) == ("failed", len(runs)) and "cannot reach" in row.last_error
    assert dt.timedelta(days=4) < runs[-1] - NOW <= dt.timedelta(days=5)  # about five days of trying, no more
    assert smtp_server.messages == []


def test_after_the_last_attempt_the_email_is_failed_and_never_sent(smtp_app, smtp_server):
    smtp_app.config["MAIL_MAX_ATTEMPTS"] = 3
    [first, *_] = _queue_three()
    smtp_server.refuse = "554 5.0.0 No"
    at = NOW
    for _ in range(5):
        send_queued(db.session, at)
        at += dt.timedelta(hours=7)
    row = _rows([first])[0]
    assert (row.status, row.attempts) == ("failed", 3)
    smtp_server.refuse = None
    send_queued(db.session, at + dt.timedelta(days=1))
    assert smtp_server.messages == []


def _answer_once(smtp_server, reply: str) -> None:
    """The server answers the next DATA with `reply` (e.g. 421: shutting down), then takes messages again."""
    handler = smtp_server.controller.handler
    keep, left = handler.handle_DATA, [1]

    async def handle_DATA(smtp, session, envelope):
        if left[0]:
            left[0] -= 1
            smtp_server.refused += 1
            return reply
        return await keep(smtp, session, envelope)

    handler.handle_DATA = handle_DATA


def test_a_421_is_temporary_the_email_waits_its_backoff_and_arrives_once(smtp_app, smtp_server):
    smtp_app.config["MAIL_MAX_ATTEMPTS"] = 1  # a refusal would be failed at once; a 421 is not a refusal
    ids = _queue_three()
    _answer_once(smtp_server, "421 4.3.2 Service shutting down")
    counts = send_queued(db.session, NOW)
    assert (counts["retried"], counts["sent"], counts["failed"]) == (1, 0, 0)
    first, *others = _rows(ids)
    assert (first.status, first.attempts, first.next_attempt_at) == ("queued", 1, NOW + backoff(1))
    assert first.last_error.startswith("temporarily refused") and "421" in first.last_error
    # the server said it is closing: the batch stopped there, the others wait untried for the next run
    assert [(r.status, r.attempts) for r in others] == [("queued", 0), ("queued", 0)]
    assert send_queued(db.session, NOW + dt.timedelta(seconds=30))["sent"] == 2  # the first is not due yet
    assert send_queued(db.session, NOW + backoff(1))["sent"] == 1
    send_queued(db.session, NOW + dt.timedelta(days=1))
    assert smtp_server.refused == 1
    assert sorted(m["Subject"] for m in smtp_server.messages) == ["Email 0", "Email 1", "Email 2"]
    assert [(r.status, r.attempts, r.last_error) for r in _rows(ids)] == [("sent", 2, None), ("sent", 1, None),
                                                                          ("sent", 1, None)]


def test_a_4xx_is_retried_past_max_attempts_for_five_days_then_failed_and_a_5xx_is_not(smtp_app, smtp_server):
    smtp_app.config["MAIL_MAX_ATTEMPTS"] = 2
    customer = add_customer()
    full = queue_email(db.session, customer, kind="test", subject="Full", text="x", html=None, now=NOW, ref="t:4xx")
    db.session.commit()
    smtp_server.refuse = "452 4.2.2 Mailbox full"
    at, tries = NOW, []
    while True:
        assert send_queued(db.session, at)["claimed"] == 1
        [row] = _rows([full.id])
        tries.append(at)
        if row.status != "queued":
            break
        assert row.next_attempt_at == at + backoff(row.attempts)  # the same growing wait as a refusal
        at = row.next_attempt_at
    assert (row.status, row.attempts) == ("failed", len(tries)) and len(tries) > 2 and "452" in row.last_error
    assert dt.timedelta(days=4) < tries[-1] - NOW <= dt.timedelta(days=5)  # about five days of trying, no more
    assert smtp_server.messages == []
    # a 5xx stays a refusal: failed after MAIL_MAX_ATTEMPTS
    refused = queue_email(db.session, add_customer(), kind="test", subject="No", text="x", html=None, now=at,
                          ref="t:5xx")
    db.session.commit()
    smtp_server.refuse = "550 5.1.1 No such user"
    send_queued(db.session, at)
    send_queued(db.session, at + dt.timedelta(hours=1))
    [row] = _rows([refused.id])
    assert (row.status, row.attempts) == ("failed", 2) and row.last_error.startswith("refused: 550")


def test_a_sender_that_crashed_mid_send_is_sent_again_with_the_same_message_id(smtp_app, smtp_server):
    [first, *_] = _queue_three()
    db.session.execute(OutboundEmail.__table__.update().where(OutboundEmail.id == first)
                       .values(status="sending", claimed_at=NOW))
    db.session.commit()
    send_queued(db.session, NOW + dt.timedelta(minutes=1))  # still within the lease: left alone
    assert len(smtp_server.messages) == 2
    counts = send_queued(db.session, NOW + dt.timedelta(hours=1))
    assert counts["released"] == 1 and counts["sent"] == 1
    row = _rows([first])[0]
    assert row.status == "sent" and smtp_server.messages[-1]["Message-ID"] == row.message_id


def test_two_senders_at_once_send_each_email_once(smtp_app, smtp_server):
    ids = _queue_three()
    url = smtp_server.url

    def work(other):
        other.config["SMTP_URL"] = url
        return send_queued(db.session, NOW)["sent"]

    assert sum(in_other_apps(3, work)) == 3
    assert len(smtp_server.messages) == 3 and {r.status for r in _rows(ids)} == {"sent"}


def test_without_smtp_url_each_email_is_an_eml_file_in_the_outbox_folder(app, tmp_path):
    app.config["MAIL_OUTBOX_DIR"] = str(tmp_path / "outbox")
    customer = add_customer(locale="ar")
    row = queue_email(db.session, customer, kind="test", subject="مرحبا", text="نص", html="<p>نص</p>", now=NOW,
                      ref="outbox:1")
    db.session.commit()
    assert send_queued(db.session, NOW)["sent"] == 1
    files = sorted(Path(tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == [f"{row.id:08d}.eml"]  # no temporary file left behind
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "مرحبا" and message["Message-ID"] == row.message_id
    assert message.get_body(("html",)).get_content().startswith("<p>نص</p>")
    assert db.session.scalar(select(OutboundEmail.status)) == "sent"


def test_an_smtp_url_the_transport_cannot_use_stops_the_app_at_start():
    from tests.conftest import make_app

    for url in ("http://mail.example.com", "smtp://", "smtp://host:port"):
        with pytest.raises(RuntimeError, match="SMTP_URL"):
            make_app(SMTP_URL=url)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # a test server on loopback
def test_a_server_asking_for_a_password_gets_the_one_in_smtp_url(app):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from tests.conftest import free_port

    logins, messages = [], []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        # handled=False: the server answers a wrong password with 535 (AuthResult's default says nothing at all)
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"shop", b"p@ss word"), handled=False)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            messages.append(envelope)
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        queue_email(db.session, add_customer(), kind="test", subject="Hi", text="Hi", html=None, now=NOW, ref="auth:1")
        db.session.commit()
        app.config.update(SMTP_URL=f"smtp://shop:wrong@127.0.0.1:{port}", MAIL_SMTP_TIMEOUT=2)
        assert send_queued(db.session, NOW)["retried"] == 1 and messages == []
        app.config["SMTP_URL"] = f"smtp://shop:p%40ss%20word@127.0.0.1:{port}"  # a password spelled URL-encoded
        assert send_queued(db.session, NOW + dt.timedelta(hours=1))["sent"] == 1
        assert len(messages) == 1 and logins[-1] == (b"shop", b"p@ss word")
    finally:
        controller.stop()


class _SignInServer:
    """A real SMTP server (aiosmtpd) that takes mail only after AUTH with shop / "p@ss word" (530 to MAIL FROM
    before it, 535 to a wrong password)."""

    def __init__(self):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages, self.logins = [], []

        def authenticator(server, session, envelope, mechanism, auth_data):
            self.logins.append((auth_data.login, auth_data.password))
            ok = (auth_data.login, auth_data.password) == (b"shop", b"p@ss word")
            return AuthResult(success=ok, handled=False)  # handled=False: a wrong password gets its 535

        kept = self.messages

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                kept.append(email.message_from_bytes(envelope.original_content or envelope.content,
                                                     policy=email.policy.default))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, authenticator=authenticator,
                                     auth_require_tls=False, auth_required=True)

    def url(self, credentials: str = "") -> str:
        return f"smtp://{credentials}{'@' if credentials else ''}127.0.0.1:{self.port}"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # a test server on loopback
def test_a_wrong_smtp_password_fails_no_email_the_outbox_says_so_and_the_right_one_sends_each_once(
        app, client, auth):
    """A password typo in SMTP_URL is the configuration's problem, not the emails': it stops each batch at once, counts
    no refusal against MAIL_MAX_ATTEMPTS (the emails wait like an outage, up to five days), and the admin's outbox
    page names it with the server's reply and since when. Fixed, every email goes, once."""
    from retention.mail.models import MailServerProblem

    server = _SignInServer()
    server.controller.start()
    try:
        app.config.update(MAIL_MAX_ATTEMPTS=2, MAIL_SMTP_TIMEOUT=2)  # a refusal would fail each email on its 2nd try
        ids = _queue_three()
        app.config["SMTP_URL"] = server.url("shop:wrong")
        runs = _run_while_down(ids, NOW, NOW + dt.timedelta(hours=10))  # one try a run: the batch stops at once
        rows = _rows(ids)
        assert len(runs) > 6 and {r.status for r in rows} == {"queued"}  # ten hours of a wrong password: none failed
        assert min(r.attempts for r in rows) > 2 and all("refused our sign-in: 535" in r.last_error for r in rows)
        assert server.messages == [] and server.logins and set(server.logins) == {(b"shop", b"wrong")}
        problem = db.session.get(MailServerProblem, 1)
        assert (problem.problem, problem.since, problem.last_at) == ("sign_in", NOW, runs[-1])
        assert problem.detail.startswith("535")

        staff(app, "admin@example.com", "admin")
        auth.login("admin@example.com")
        page = client.get("/admin/outbox/").get_data(as_text=True)
        notice = page[page.index('id="server-problem"'):page.index("</section>", page.index('id="server-problem"'))]
        assert 'data-problem="sign_in"' in notice and "The mail server refused our sign-in:" in notice
        assert "535 5.7.8 Authentication credentials invalid" in notice and "Since " in notice
        assert "SMTP_URL" in notice

        # no user at all: the server answers MAIL FROM with 530 "sign in first": the same problem, no refusal counted
        app.config["SMTP_URL"] = server.url()
        later = max(r.next_attempt_at for r in _rows(ids))
        before = {r.id: r.attempts for r in _rows(ids)}
        counts = send_queued(db.session, later)
        assert counts["retried"] == 1 and counts["failed"] == 0 and counts["sent"] == 0
        rows = _rows(ids)
        assert {r.status for r in rows} == {"queued"} and sum(r.attempts - before[r.id] for r in rows) == 1
        db.session.expire_all()
        problem = db.session.get(MailServerProblem, 1)
        assert problem.problem == "sign_in" and problem.detail.startswith("530") and problem.since == NOW

        app.config["SMTP_URL"] = server.url("shop:p%40ss%20word")  # fixed
        back = max(r.next_attempt_at for r in _rows(ids))
        assert send_queued(db.session, back)["sent"] == 3
        send_queued(db.session, back + dt.timedelta(days=1))
    finally:
        server.controller.stop()
    assert {r.status for r in _rows(ids)} == {"sent"}
    assert sorted(m["Subject"] for m in server.messages) == ["Email 0", "Email 1", "Email 2"]  # each once
    assert len({m["Message-ID"] for m in server.messages}) == 3
    db.session.expire_all()
    assert db.session.get(MailServerProblem, 1) is None
    assert 'id="server-problem"' not in client.get("/admin/outbox/").get_data(as_text=True)


@pytest.mark.parametrize("greeting", ["554 5.7.1 No service for you", "421 4.3.2 Busy, try later"])
def test_a_server_refusing_the_session_stops_the_batch_fails_no_email_and_names_the_problem(smtp_app, greeting):
    """A 5xx (or 4xx) greeting: nothing was said about any message; the batch stops, the emails wait."""
    import socket
    import threading

    from retention.mail.models import MailServerProblem

    ids = _queue_three()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def answer():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.sendall(greeting.encode() + b"\r\n")

    threading.Thread(target=answer, daemon=True).start()
    try:
        smtp_app.config.update(SMTP_URL=f"smtp://127.0.0.1:{listener.getsockname()[1]}", MAIL_MAX_ATTEMPTS=1)
        counts = send_queued(db.session, NOW)
    finally:
        listener.close()
    assert (counts["retried"], counts["failed"], counts["sent"]) == (1, 0, 0)
    assert [(r.status, r.attempts) for r in _rows(ids)] == [("queued", 1), ("queued", 0), ("queued", 0)]
    problem = db.session.get(MailServerProblem, 1)
    assert problem.problem == ("refused" if greeting.startswith("5") else "busy")
    assert problem.detail == greeting


def test_smtp_url_forms():
    from retention.mail.transport import SmtpTransport

    plain = SmtpTransport("smtp://mail.example.com", 5)
    assert (plain.host, plain.port, plain.tls, plain.starttls, plain.user) == ("mail.example.com", 25, False, False, None)
    starttls = SmtpTransport("smtp://shop:s%3Acret@mail.example.com?starttls", 5)
    assert (starttls.port, starttls.starttls, starttls.user, starttls.password) == (587, True, "shop", "s:cret")
    assert SmtpTransport("smtp://mail.example.com:2525?starttls=1", 5).port == 2525
    assert SmtpTransport("smtp://mail.example.com?starttls=0", 5).starttls is False
    tls = SmtpTransport("smtps://mail.example.com", 5)
    assert (tls.port, tls.tls, tls.starttls) == (465, True, False)


def _self_signed(tmp_path):
    """A certificate for 127.0.0.1 that the test trusts (SSL_CERT_FILE), and its key."""
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@pytest.mark.parametrize("scheme", ["starttls", "smtps"])
def test_mail_goes_over_tls_when_smtp_url_asks(app, tmp_path, monkeypatch, scheme):
    import ssl

    from aiosmtpd.controller import Controller

    from tests.conftest import free_port

    cert, key = _self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client verifies the server against this certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    secure = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            secure.append(server.transport.get_extra_info("ssl_object") is not None)
            return "250 OK"

    port = free_port()
    if scheme == "smtps":
        controller = Controller(Handler(), hostname="127.0.0.1", port=port, ssl_context=context)
        url = f"smtps://127.0.0.1:{port}"
    else:
        controller = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True)
        url = f"smtp://127.0.0.1:{port}?starttls"
    controller.start()
    try:
        queue_email(db.session, add_customer(), kind="test", subject="Hi", text="Hi", html=None, now=NOW, ref="tls:1")
        db.session.commit()
        app.config.update(SMTP_URL=url, MAIL_SMTP_TIMEOUT=5)
        assert send_queued(db.session, NOW)["sent"] == 1
        assert secure == [True]
    finally:
        controller.stop()


def test_an_address_changed_after_queueing_gets_the_email_and_one_removed_cancels_it(smtp_app, smtp_server):
    moved, gone = add_customer(), add_customer()
    for n, customer in enumerate((moved, gone)):
        queue_email(db.session, customer, kind="test", subject=f"Email {n}", text="x", html=None, now=NOW,
                    ref=f"moved:{n}")
    db.session.commit()
    moved.email, gone.email = "new-address@example.net", None
    db.session.commit()
    counts = send_queued(db.session, NOW)
    assert (counts["sent"], counts["cancelled"]) == (1, 1)
    assert [m["To"] for m in smtp_server.messages] == ["new-address@example.net"]


def test_the_tick_sends_no_email_itself_the_send_job_does_and_a_long_queue_goes_out_batch_after_batch(
        smtp_app, smtp_server, queue):
    from retention import clock
    from retention.tick import run as tick

    clock.install(smtp_app, NOW)
    smtp_app.config["MAIL_BATCH_SIZE"] = 2
    for n in range(5):
        queue_email(db.session, add_customer(), kind="test", subject=f"Email {n}", text="x", html=None, now=NOW,
                    ref=f"long:{n}")
    db.session.commit()  # queues the send job (one is enough for any number of emails)
    summary = tick(NOW)
    assert summary["emails_nudged"] in (0, 1) and smtp_server.messages == []  # the tick only queues the job
    queue.drain()  # a worker: each job sends a batch of two and queues the next while emails are left
    assert sorted(m["Subject"] for m in smtp_server.messages) == [f"Email {n}" for n in range(5)]
    assert {r.status for r in db.session.scalars(select(OutboundEmail))} == {"sent"}
    assert tick(NOW + dt.timedelta(minutes=1))["emails_nudged"] == 0  # nothing due: nothing queued
