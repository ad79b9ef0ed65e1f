"""Customers' opt-outs per channel (email, letter, phone): reading, adding (link, one-click, staff), removing.

Opting out of email also cancels the customer's emails still queued; send_queued checks again before sending.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from retention.audit.service import record
from retention.errors import N_, ServiceError
from retention.mail.models import CANCELLED, CHANNELS, QUEUED, CustomerOptOut, OutboundEmail

SOURCES = ("unsubscribe_link", "one_click", "staff")


class OptOutError(ServiceError):
    """An opt-out change that cannot be made (422): the field and a msgid."""


def opted_out(session: Session, customer_id: int, channel: str) -> bool:
    """Whether the customer opted out of the channel."""
    return session.scalar(select(CustomerOptOut.id).where(CustomerOptOut.customer_id == customer_id,
                                                          CustomerOptOut.channel == channel)) is not None


def opt_outs(session: Session, customer_id: int) -> dict[str, CustomerOptOut]:
    """The customer's opt-outs by channel."""
    rows = session.scalars(select(CustomerOptOut).where(CustomerOptOut.customer_id == customer_id))
    return {row.channel: row for row in rows}


def opted_out_ids(session: Session, customer_ids, channel: str) -> set[int]:
    """Which of these customers opted out of the channel (one query, for batches)."""
    ids = list(customer_ids)
    if not ids:
        return set()
    return set(session.scalars(select(CustomerOptOut.customer_id).where(
        CustomerOptOut.channel == channel, CustomerOptOut.customer_id.in_(ids))))


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise OptOutError("channel", N_("Choose email, letter or phone."))


def opt_out(session: Session, customer_id: int, channel: str, *, source: str, now: dt.datetime, actor: str,
            staff_id: int | None = None) -> CustomerOptOut:
    """Record the opt-out (once: opting out again keeps the first row) and audit it; returns the row.

    For email, the customer's queued emails are cancelled in the same transaction.
    """
    _check_channel(channel)
    existing = session.scalar(select(CustomerOptOut).where(CustomerOptOut.customer_id == customer_id,
                                                           CustomerOptOut.channel == channel))
    if existing is not None:
        return existing
    row = CustomerOptOut(customer_id=customer_id, channel=channel, at=now, source=source, staff_id=staff_id)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same customer clicked twice at once: the first click stands
        return session.scalar(select(CustomerOptOut).where(CustomerOptOut.customer_id == customer_id,
                                                           CustomerOptOut.channel == channel))
    if channel == "email":
        session.execute(update(OutboundEmail).where(OutboundEmail.customer_id == customer_id,
                                                    OutboundEmail.status == QUEUED)
                        .values(status=CANCELLED, last_error="opted_out"))
    record(session, actor=actor, action="customer.opted_out", entity_type="customer", entity_id=customer_id,
           now=now, changes={"channel": channel, "source": source})
    return row


def opt_in(session: Session, customer_id: int, channel: str, *, now: dt.datetime, actor: str) -> bool:
    """Remove the opt-out (staff, when the customer asks to hear from us again); audited. False if there was none."""
    _check_channel(channel)
    removed = session.execute(delete(CustomerOptOut).where(CustomerOptOut.customer_id == customer_id,
                                                           CustomerOptOut.channel == channel)).rowcount
    if removed:
        record(session, actor=actor, action="customer.opted_in", entity_type="customer", entity_id=customer_id,
               now=now, changes={"channel": channel})
    return bool(removed)
