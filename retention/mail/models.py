"""What the mail module keeps: every email to send or sent (outbound_emails), customers' opt-outs, and the mail
server's problem while it lasts (mail_server_problems: one row at most)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from retention.extensions import db
from retention.types import UTCDateTime

# An email's life: queued -> sending (claimed, committed before SMTP is spoken to) -> sent; back to queued with a
# later next_attempt_at when the server refuses or is down; failed after MAIL_MAX_ATTEMPTS (a temporary failure: a 4xx,
# a server that cannot be reached or refuses our sign-in: after five days of retries, sending.TRANSIENT_GIVE_UP); cancelled when the
# customer opted out (or lost their address) before it went.
QUEUED, SENDING, SENT, FAILED, CANCELLED = "queued", "sending", "sent", "failed", "cancelled"
STATUSES = (QUEUED, SENDING, SENT, FAILED, CANCELLED)

# What kept the server from taking any email (MailServerProblem.problem; the outbox page says it in words):
# unreachable (refused, timed out, no such name, TLS), refused (5xx to the greeting, EHLO or STARTTLS), sign_in (the
# server refused our user name and password, or asks for a sign-in SMTP_URL does not give: 530), busy (a 4xx before
# the message, or 421 at any point), lost (the connection dropped mid-message), outbox (the folder cannot be written).
SERVER_PROBLEMS = ("unreachable", "refused", "sign_in", "busy", "lost", "outbox")

# The channels a customer may opt out of.
CHANNELS = ("email", "letter", "phone")


class OutboundEmail(db.Model):
    """One email to a customer or a staff member, sent exactly once by send_queued (retention/mail/sending.py).

    `ref` says what it is for ("survey:12"): queueing the same ref again returns this row. `message_id` is fixed
    when queued, so a resend after a crash is recognisable as the same message. `unsubscribe_hash` is the sha256
    of the random token in this email's unsubscribe link (customer emails only).
    """

    __tablename__ = "outbound_emails"
    __table_args__ = (Index("ix_outbound_emails_status_next", "status", "next_attempt_at"),
                      Index("ix_outbound_emails_customer_created", "customer_id", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), nullable=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    to_address: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(10), default="en")
    subject: Mapped[str] = mapped_column(String(400))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text, nullable=True)
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    unsubscribe_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    status: Mapped[str] = mapped_column(String(12), default=QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    customer = relationship("Customer")
    staff = relationship("StaffUser")


class CustomerOptOut(db.Model):
    """A customer asked not to be contacted on a channel (email, letter, phone); one row per channel.

    source: "unsubscribe_link" (the page's button), "one_click" (the mail client's List-Unsubscribe-Post),
    "staff" (set on the customer page; staff_id says who).
    """

    __tablename__ = "customer_opt_outs"
    __table_args__ = (UniqueConstraint("customer_id", "channel", name="uq_customer_opt_outs_channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(10))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(20))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)


class MailServerProblem(db.Model):
    """Why the mail server took no email, while it lasts: at most one row (id 1), written by send_queued when a send
    stops the batch (retention/mail/sending.py: a `down` TransportError), deleted by the next email the server takes.

    `since`: when this problem was first met (kept while the same problem repeats); `last_at`: the last try that met
    it; `detail`: the server's reply or the connection's error, as it said it (shown on /admin/outbox).
    """

    __tablename__ = "mail_server_problems"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    problem: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(String(500))
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
