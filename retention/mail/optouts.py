"""Customers' opt-outs per channel (email, letter, phone): reading, adding (link, one-click, staff), removing.

`may_contact` is the one rule every hand-out asks before a contact by a channel (journey steps through the
journeys registry's contact rule, surveys, referral offers, apology letters, the system's ad-hoc calls).
Opting out of email also cancels the customer's emails still queued; send_queued checks again before sending.
Opting out of letters or phone runs what features registered for the channel (`on_opt_out`): postal cancels the
letters still waiting to print, calls closes the calls still open in someone's list.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from retention.audit.service import record
from retention.errors import N_, ServiceError
from retention.mail.models import CANCELLED, CHANNELS, QUEUED, CustomerOptOut, OutboundEmail
from retention.queries import id_in

SOURCES = ("unsubscribe_link", "one_click", "staff")
# channel -> what features do when a customer opts out of it: fn(session, customer_id, now, actor).
ON_OPT_OUT: dict[str, list] = {}


def on_opt_out(channel: str, handler) -> None:
    """Register what opting out of `channel` stops (called at wiring time; registering twice keeps one)."""
    handlers = ON_OPT_OUT.setdefault(channel, [])
    if handler not in handlers:
        handlers.append(handler)


class OptOutError(ServiceError):
    """An opt-out change that cannot be made (422): the field and a msgid."""


def opted_out(session: Session, customer_id: int, channel: str) -> bool:
    """Whether the customer opted out of the channel."""
    return session.scalar(select(CustomerOptOut.id).where(CustomerOptOut.customer_id == customer_id,
                                                          CustomerOptOut.channel == channel)) is not None


def may_contact(session: Session, customer_id: int, channel: str) -> bool:
    """Whether we may contact the customer by the channel (email, letter, phone): they have not opted out of it."""
    return not opted_out(session, customer_id, channel)


def opt_outs(session: Session, customer_id: int) -> dict[str, CustomerOptOut]:
    """The customer's opt-outs by channel."""
    rows = session.scalars(select(CustomerOptOut).where(CustomerOptOut.customer_id == customer_id))
    return {row.channel: row for row in rows}


def opted_out_ids(session: Session, customer_ids, channel: str) -> set[int]:
    """Which of these customers opted out of the channel (one query, for batches)."""
    ids = list(customer_ids)
    if not ids:
        return set()
    return set(session.scalars(select(CustomerOptOut.customer_id).where(  # one array parameter, any count
        CustomerOptOut.channel == channel, id_in(session, CustomerOptOut.customer_id, ids))))


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
    for handler in ON_OPT_OUT.get(channel, ()):
        handler(session, customer_id, now, actor)
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
