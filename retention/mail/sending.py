"""Sending queued emails: claim one row at a time, send it, record what happened (retention/mail/transport.py).

Each email is claimed by a state change committed before the server is spoken to (queued -> sending, under
FOR UPDATE SKIP LOCKED on PostgreSQL; the conditional UPDATE's rowcount decides on SQLite), so two ticks or
workers never send the same row. A refusal or an unreachable server puts it back to queued with a growing wait
(attempts + 1), failed after MAIL_MAX_ATTEMPTS: the server did not take it, so a retry cannot double it.

The one window left is a crash after the server accepted the message and before "sent" is committed. We choose
at-least-once there: a row left in "sending" longer than SENDING_LEASE is put back to queued and sent again with
the same Message-ID (fixed when queued), so the receiving side can see it is the same message. The lease is far
longer than one send can take (MAIL_SMTP_TIMEOUT bounds each step of it), so a slow send is never sent twice.
"""
from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.utils import format_datetime

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from retention.customers.models import Customer
from retention.mail import transport as transports
from retention.mail.models import CANCELLED, FAILED, QUEUED, SENDING, SENT, OutboundEmail
from retention.mail.service import can_email

SENDING_LEASE = dt.timedelta(minutes=15)
FIRST_RETRY = dt.timedelta(minutes=1)
LONGEST_WAIT = dt.timedelta(hours=6)


def backoff(attempts: int) -> dt.timedelta:
    """The wait before attempt `attempts + 1`: 1, 2, 4 ... minutes, at most six hours."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_WAIT)


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


def _claim_next(session: Session, now: dt.datetime) -> int | None:
    """Claim the next due email (queued -> sending, committed); its id, or None when nothing is due."""
    while True:
        query = (select(OutboundEmail.id)
                 .where(OutboundEmail.status == QUEUED, OutboundEmail.next_attempt_at <= now)
                 .order_by(OutboundEmail.next_attempt_at, OutboundEmail.id).limit(1))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        email_id = session.scalar(query)
        if email_id is None:
            session.commit()
            return None
        claimed = session.execute(update(OutboundEmail)
                                  .where(OutboundEmail.id == email_id, OutboundEmail.status == QUEUED)
                                  .values(status=SENDING, claimed_at=now)).rowcount
        session.commit()
        if claimed:
            return email_id


def _finish(session: Session, email_id: int, **values) -> None:
    session.execute(update(OutboundEmail).where(OutboundEmail.id == email_id, OutboundEmail.status == SENDING)
                    .values(**values))
    session.commit()


def send_queued(session: Session, now: dt.datetime, limit: int | None = None) -> dict:
    """Send due emails, at most `limit` (MAIL_BATCH_SIZE); commits after each. Returns counts by outcome."""
    config = current_app.config
    limit = config["MAIL_BATCH_SIZE"] if limit is None else limit
    counts = {"sent": 0, "retried": 0, "failed": 0, "cancelled": 0,
              "released": release_stalled(session, now)}
    transport = transports.from_config(config)
    try:
        for _ in range(limit):
            email_id = _claim_next(session, now)
            if email_id is None:
                break
            row = session.get(OutboundEmail, email_id, populate_existing=True)
            if row.customer_id is not None:
                customer = session.get(Customer, row.customer_id)
                reason = can_email(session, customer)
                if reason is not None:  # opted out (or lost the address) after it was queued
                    _finish(session, email_id, status=CANCELLED, last_error=reason)
                    counts["cancelled"] += 1
                    continue
                row.to_address = customer.email.strip()  # a corrected address since it was queued wins
            attempts = row.attempts + 1
            try:
                message = build_message(row, now, config["MAIL_FROM"])
            except (ValueError, TypeError) as exc:  # a row no message can be made of: retrying cannot help
                _finish(session, email_id, status=FAILED, attempts=attempts, last_error=f"bad message: {exc}"[:500])
                counts["failed"] += 1
                continue
            try:
                if isinstance(transport, transports.OutboxTransport):
                    transport.send(message, name=f"{row.id:08d}")
                else:
                    transport.send(message)
            except transports.TransportError as exc:
                error = str(exc)[:500]
                if attempts >= config["MAIL_MAX_ATTEMPTS"]:
                    _finish(session, email_id, status=FAILED, attempts=attempts, last_error=error, claimed_at=None)
                    counts["failed"] += 1
                else:
                    _finish(session, email_id, status=QUEUED, attempts=attempts, last_error=error, claimed_at=None,
                            next_attempt_at=now + backoff(attempts))
                    counts["retried"] += 1
                if exc.down:  # the rest would fail the same way: they wait for the next run
                    break
                continue
            _finish(session, email_id, status=SENT, attempts=attempts, sent_at=now, last_error=None)
            counts["sent"] += 1
    finally:
        transport.close()
    return counts


def due_count(session: Session, now: dt.datetime) -> int:
    """How many emails are due to be sent now."""
    from sqlalchemy import func

    return session.scalar(select(func.count()).select_from(OutboundEmail).where(
        OutboundEmail.status == QUEUED, OutboundEmail.next_attempt_at <= now)) or 0
