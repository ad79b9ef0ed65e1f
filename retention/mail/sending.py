"""Sending queued emails: claim a few rows at a time, send each, record what happened (retention/mail/transport.py).

Emails are claimed by a state change committed before the server is spoken to (queued -> sending for up to
CLAIM_CHUNK rows in one UPDATE, under FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's writer lock serialises it), so
two ticks or workers never send the same row. Each email's outcome is committed as soon as the server answered. A
refusal (5xx in reply to the message: MAIL FROM, RCPT, DATA) puts it back to queued with a growing wait
(attempts + 1), failed after MAIL_MAX_ATTEMPTS: the server did not take it, so a retry cannot double it. A temporary
failure is not a refusal: a 4xx reply (421 service not available, 450 mailbox busy, 452...), a server that cannot be
reached (connection refused, a timeout, a name that does not resolve: an SMTP outage) or one that refuses the session
before any message (a 5xx to the greeting, EHLO, STARTTLS or AUTH: a wrong password in SMTP_URL, a sign-in it does
not give) is retried with the same growing wait whatever MAIL_MAX_ATTEMPTS says, until the waits add up to
TRANSIENT_GIVE_UP (five days, as RFC 5321 4.5.4.1 asks of a sender), then failed: a configuration error fixed within
five days fails no email, and one left for longer fails them as an outage that long would. A server that takes no
message at all (`down`: it cannot be reached, refused the session or our sign-in, says 421) stops the batch at that
email: that one counts the attempt (so the five days are counted), the claimed rows not tried yet go back to queued as
they were, with no attempt counted (a dead server, or a wrong password, is not tried 200 times). Whether the customer
may still be emailed (opt-out, address) is read for the chunk right after it is claimed.

What stopped the server is kept while it lasts (models.MailServerProblem, one row: the problem, the server's reply,
since when, last met): written with the attempt that met it, deleted by the next email the server takes; the admin's
outbox page shows it (retention/mail/views.py).

The one window left is a crash after the server accepted the message and before "sent" is committed. We choose
at-least-once there: a row left in "sending" longer than SENDING_LEASE is put back to queued and sent again with
the same Message-ID (fixed when queued), so the receiving side can see it is the same message. The lease is far
longer than one send can take (MAIL_SMTP_TIMEOUT bounds each step of it), and a chunk whose sending took longer
than CHUNK_TIME puts its untried rows back, so a slow send is never sent twice.
"""
from __future__ import annotations

import datetime as dt
import time
from email.message import EmailMessage
from email.utils import format_datetime
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import case, delete, select, update
from sqlalchemy.orm import Session

from retention.customers.models import Customer
from retention.mail import transport as transports
from retention.mail.models import CANCELLED, FAILED, QUEUED, SENDING, SENT, MailServerProblem, OutboundEmail
from retention.mail.optouts import opted_out_ids
from retention.mail.service import _valid_address as valid_address

SENDING_LEASE = dt.timedelta(minutes=15)
FIRST_RETRY = dt.timedelta(minutes=1)
LONGEST_WAIT = dt.timedelta(hours=6)
# Temporary failures (4xx, a server that cannot be reached) are retried until the waits add up to this.
TRANSIENT_GIVE_UP = dt.timedelta(days=5)


def backoff(attempts: int) -> dt.timedelta:
    """The wait before attempt `attempts + 1`: 1, 2, 4 ... minutes, at most six hours."""
    return min(FIRST_RETRY * (2 ** max(min(attempts, 20) - 1, 0)), LONGEST_WAIT)


def waited(attempts: int) -> dt.timedelta:
    """The waits between the first attempt and attempt `attempts + 1`, all told."""
    return sum((backoff(n) for n in range(1, attempts + 1)), dt.timedelta())


def gives_up(exc: transports.TransportError, attempts: int, max_attempts: int) -> bool:
    """Whether the email is failed after this attempt: a refusal after MAIL_MAX_ATTEMPTS attempts, a temporary
    failure (4xx, the server could not be reached or refused the session or our sign-in) once another wait would take
    the waiting past TRANSIENT_GIVE_UP."""
    if exc.transient:
        return waited(attempts) >= TRANSIENT_GIVE_UP
    return attempts >= max_attempts


def build_message(row: OutboundEmail, now: dt.datetime, sender: str) -> EmailMessage:
    """The MIME message of a row: UTF-8 plain text, and the HTML as its alternative when there is one."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = row.message_id
    for name, value in (row.headers or {}).items():
        message[name] = value
    message.set_content(row.text, charset="utf-8")
    if row.html:
        message.add_alternative(row.html, subtype="html", charset="utf-8")
    message["Content-Language"] = row.locale  # after the content: setting it clears Content-* headers
    return message


def release_stalled(session: Session, now: dt.datetime) -> int:
    """Put emails stuck in "sending" past the lease (a crashed sender) back in the queue; returns how many."""
    count = session.execute(update(OutboundEmail).where(OutboundEmail.status == SENDING,
                                                        OutboundEmail.claimed_at < now - SENDING_LEASE)
                            .values(status=QUEUED, claimed_at=None, next_attempt_at=now,
                                    last_error="sender stopped while sending; sent again with the same Message-ID")
                            ).rowcount
    session.commit()
    return count


CLAIM_CHUNK = 20  # emails claimed by one committed statement; each is still finished (and committed) on its own
CHUNK_TIME = SENDING_LEASE / 3  # a chunk still sending after this long puts its untried rows back (see above)


def _claim(session: Session, now: dt.datetime, limit: int) -> list[int]:
    """Claim up to `limit` due emails (queued -> sending) in one statement and commit; their ids, in send order."""
    pick = (select(OutboundEmail.id)
            .where(OutboundEmail.status == QUEUED, OutboundEmail.next_attempt_at <= now)
            .order_by(OutboundEmail.next_attempt_at, OutboundEmail.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    claimed = session.execute(update(OutboundEmail)
                              .where(OutboundEmail.id.in_(pick.scalar_subquery()), OutboundEmail.status == QUEUED)
                              .values(status=SENDING, claimed_at=now)
                              .returning(OutboundEmail.id, OutboundEmail.next_attempt_at)
                              .execution_options(synchronize_session=False)).all()
    session.commit()
    return [row.id for row in sorted(claimed, key=lambda row: (row.next_attempt_at, row.id))]


_COLUMNS = ("id", "customer_id", "to_address", "subject", "message_id", "headers", "text", "html", "locale",
            "attempts")


def _load(session: Session, ids: list[int]) -> list[SimpleNamespace]:
    """The claimed rows (plain values, no ORM objects), each with `reason` set when it may not be sent any more:
    the customer opted out or lost the address after it was queued (a corrected address since then wins)."""
    rows = {row.id: SimpleNamespace(**row._mapping, reason=None) for row in session.execute(
        select(*(getattr(OutboundEmail, name) for name in _COLUMNS), Customer.email.label("customer_email"))
        .outerjoin(Customer, Customer.id == OutboundEmail.customer_id).where(OutboundEmail.id.in_(ids)))}
    opted = opted_out_ids(session, {row.customer_id for row in rows.values() if row.customer_id}, "email")
    for row in rows.values():
        if row.customer_id is None:
            continue
        if not valid_address(row.customer_email):
            row.reason = "no_email"
        elif row.customer_id in opted:
            row.reason = "opted_out"
        else:
            row.to_address = row.customer_email.strip()
    session.commit()  # the read's transaction ends here: no snapshot is held while the server is spoken to
    return [rows[i] for i in ids if i in rows]


def _finish(session: Session, email_id: int, **values) -> None:
    session.execute(update(OutboundEmail).where(OutboundEmail.id == email_id, OutboundEmail.status == SENDING)
                    .values(**values))
    session.commit()


SERVER = 1  # the id of the one MailServerProblem row


def note_problem(session: Session, exc: transports.TransportError, now: dt.datetime) -> None:
    """Keep what stopped the server (one row, upserted; `since` kept while the same problem repeats). The caller
    commits."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    problem = exc.problem or "unreachable"
    table = MailServerProblem.__table__
    stmt = insert(table).values(id=SERVER, problem=problem, detail=(exc.detail or str(exc))[:500], since=now,
                                last_at=now)
    session.execute(stmt.on_conflict_do_update(index_elements=[table.c.id], set_={
        "problem": stmt.excluded.problem, "detail": stmt.excluded.detail, "last_at": stmt.excluded.last_at,
        "since": case((table.c.problem == stmt.excluded.problem, table.c.since), else_=stmt.excluded.since),
    }))


def server_problem(session: Session) -> MailServerProblem | None:
    """What keeps the server from taking email now, if anything (cleared by the next email it takes)."""
    return session.get(MailServerProblem, SERVER)


def _unclaim(session: Session, ids: list[int]) -> None:
    """Claimed but not attempted (the server went down first): back in the queue as they were."""
    if ids:
        session.execute(update(OutboundEmail).where(OutboundEmail.id.in_(ids), OutboundEmail.status == SENDING)
                        .values(status=QUEUED, claimed_at=None))
        session.commit()


def send_queued(session: Session, now: dt.datetime, limit: int | None = None) -> dict:
    """Send due emails, at most `limit` (MAIL_BATCH_SIZE); returns counts by outcome (and "claimed").

    Emails are claimed CLAIM_CHUNK at a time (one committed statement); each one's outcome is committed as soon as
    the server answered, so a crash can only leave the one in flight to be sent again.
    """
    config = current_app.config
    limit = config["MAIL_BATCH_SIZE"] if limit is None else limit
    counts = {"sent": 0, "retried": 0, "failed": 0, "cancelled": 0, "claimed": 0,
              "released": release_stalled(session, now)}
    transport = transports.from_config(config)
    down = taken = False
    try:
        while not down and counts["claimed"] < limit:
            ids = _claim(session, now, min(CLAIM_CHUNK, limit - counts["claimed"]))
            if not ids:
                break
            counts["claimed"] += len(ids)
            rows = _load(session, ids)
            started = time.monotonic()
            for position, row in enumerate(rows):
                if time.monotonic() - started > CHUNK_TIME.total_seconds():  # a slow server: let the lease hold
                    _unclaim(session, [r.id for r in rows[position:]])
                    break
                if row.reason is not None:  # opted out (or lost the address) after it was queued
                    _finish(session, row.id, status=CANCELLED, last_error=row.reason)
                    counts["cancelled"] += 1
                    continue
                attempts = row.attempts + 1
                try:
                    message = build_message(row, now, config["MAIL_FROM"])
                except (ValueError, TypeError) as exc:  # a row no message can be made of: retrying cannot help
                    _finish(session, row.id, status=FAILED, attempts=attempts, last_error=f"bad message: {exc}"[:500])
                    counts["failed"] += 1
                    continue
                try:
                    if isinstance(transport, transports.OutboxTransport):
                        transport.send(message, name=f"{row.id:08d}")
                    else:
                        transport.send(message)
                except transports.TransportError as exc:
                    error = str(exc)[:500]
                    if exc.down:  # committed with this email's outcome below
                        note_problem(session, exc, now)
                    if gives_up(exc, attempts, config["MAIL_MAX_ATTEMPTS"]):
                        _finish(session, row.id, status=FAILED, attempts=attempts, last_error=error, claimed_at=None)
                        counts["failed"] += 1
                    else:
                        _finish(session, row.id, status=QUEUED, attempts=attempts, last_error=error, claimed_at=None,
                                next_attempt_at=now + backoff(attempts))
                        counts["retried"] += 1
                    if exc.down:  # the rest would fail the same way: they wait for the next run
                        _unclaim(session, [r.id for r in rows[position + 1:]])
                        down = True
                        break
                    continue
                if not taken:  # the server takes email again: whatever stopped it is over
                    session.execute(delete(MailServerProblem))
                    taken = True
                _finish(session, row.id, status=SENT, attempts=attempts, sent_at=now, last_error=None)
                counts["sent"] += 1
    finally:
        transport.close()
    return counts


def has_due(session: Session, now: dt.datetime) -> bool:
    """Whether any email is due to be sent now (or stuck in "sending" past the lease); one index probe each."""
    due = session.scalar(select(OutboundEmail.id).where(OutboundEmail.status == QUEUED,
                                                        OutboundEmail.next_attempt_at <= now).limit(1))
    if due is None:
        due = session.scalar(select(OutboundEmail.id).where(OutboundEmail.status == SENDING,
                                                            OutboundEmail.claimed_at < now - SENDING_LEASE).limit(1))
    return due is not None


def due_count(session: Session, now: dt.datetime) -> int:
    """How many emails are due to be sent now."""
    from sqlalchemy import func

    return session.scalar(select(func.count()).select_from(OutboundEmail).where(
        OutboundEmail.status == QUEUED, OutboundEmail.next_attempt_at <= now)) or 0
