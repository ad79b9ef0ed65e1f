"""What mail plugs into the layers below and the app: the send job after a commit, the timeline, the opt-outs part."""
from __future__ import annotations

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from retention.customers import timeline
from retention.customers.models import Customer
from retention.customers.views import register_page_part
from retention.journeys import registry
from retention.mail import optouts
from retention.mail.models import FAILED, SENT, CustomerOptOut, OutboundEmail
from retention.mail.service import NUDGE_KEY, SEND_JOB


def nudge(queue) -> bool:
    """Queue one send job unless one is waiting already; never fails the caller (the tick queues it again later)."""
    from retention.queue import nudge_once

    return nudge_once(queue, NUDGE_KEY, SEND_JOB, 120, "the tick")


def _after_commit(session: Session) -> None:
    """queue_email marks the session; once its transaction is committed, a job sends what it queued."""
    if session.in_nested_transaction():  # a savepoint released (queue_email's own): the caller has not committed yet
        return
    if not session.info.pop("mail_queued", False):
        return
    from flask import current_app, has_app_context

    if has_app_context() and "retention_queue" in current_app.extensions:
        nudge(current_app.extensions["retention_queue"])


def _after_rollback(session: Session) -> None:
    session.info.pop("mail_queued", None)


def emails_sent(session: Session, customer: Customer, limit: int) -> list[timeline.Entry]:
    """Emails sent to the customer and their opt-outs, in the reader's words."""
    from flask_babel import gettext as _

    rows = session.scalars(select(OutboundEmail).where(OutboundEmail.customer_id == customer.id,
                                                       OutboundEmail.status.in_((SENT, FAILED)))
                           .order_by(OutboundEmail.created_at.desc()).limit(limit))
    entries = [timeline.Entry(at=row.sent_at, kind="email", title=_("Email sent"), detail=[row.subject],
                              extra={"email_id": row.id}) if row.status == SENT else
               timeline.Entry(at=row.created_at, kind="email", title=_("Email could not be sent"),
                              detail=[row.subject], extra={"email_id": row.id}) for row in rows]
    channels = {"email": _("email"), "letter": _("letters"), "phone": _("phone calls")}
    for row in session.scalars(select(CustomerOptOut).where(CustomerOptOut.customer_id == customer.id)):
        entries.append(timeline.Entry(at=row.at, kind="opt_out", title=_("Opted out of %(channel)s",
                                                                         channel=channels.get(row.channel, row.channel))))
    return entries


def _opt_outs(session: Session, customer: Customer) -> dict:
    return optouts.opt_outs(session, customer.id)


_registered = False


def register() -> None:
    global _registered
    timeline.register_source(emails_sent)
    register_page_part("opt_outs", "email", _opt_outs, default={})
    registry.register_contact_rule(optouts.opted_out_ids)  # journey steps by phone or letter: the opt-outs rule
    if not _registered:
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
        _registered = True
