"""Timeline entries from calls: each call made to the customer and its outcome, ad-hoc calls opened, notes."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from retention import i18n
from retention.calls.adhoc import PURPOSES
from retention.calls.models import CallAttempt, CustomerNote
from retention.customers.models import Customer
from retention.customers.timeline import Entry
from retention.journeys import wording
from retention.journeys.models import SKIPPED, Touchpoint


def call_attempts(session: Session, customer: Customer, limit: int) -> list[Entry]:
    """Calls made to the customer and their outcomes."""
    rows = session.scalars(select(CallAttempt).where(CallAttempt.customer_id == customer.id)
                           .options(joinedload(CallAttempt.staff))
                           .order_by(CallAttempt.at.desc()).limit(limit))
    # Words in the reader's language (rendered during the page's request); the caller's name is data.
    return [Entry(at=a.at, kind="call",
                  title=_("Call: %(outcome)s", outcome=wording.label(wording.OUTCOME_LABELS, a.outcome)),
                  detail=[x for x in (wording.label(wording.SENTIMENT_LABELS, a.sentiment),
                                      a.staff.display_name if a.staff else "") if x],
                  private=a.notes or "")
            for a in rows]


def adhoc_calls(session: Session, customer: Customer, limit: int) -> list[Entry]:
    """Calls a person opened outside the journey (calls/adhoc.py): why, for whom, when; the note is private."""
    rows = session.scalars(select(Touchpoint).where(Touchpoint.customer_id == customer.id,
                                                    Touchpoint.step_id.is_(None), Touchpoint.kind == "call")
                           .options(joinedload(Touchpoint.owner))
                           .order_by(Touchpoint.id.desc()).limit(limit))
    return [Entry(at=tp.handed_at or tp.due_at, kind="call:opened",
                  title=_("Call opened: %(purpose)s", purpose=wording.label(PURPOSES, tp.purpose)),
                  detail=[x for x in (tp.owner.display_name if tp.owner else "",
                                      _("due %(when)s", when=i18n.when(tp.due_at))) if x],
                  private=tp.note or "")
            if tp.handed_at is not None or tp.status != SKIPPED else
            # never opened: the customer asked not to be phoned (calls/adhoc.py), said with the reason
            Entry(at=tp.completed_at or tp.due_at, kind="call:not_opened",
                  title=_("Call not made: %(purpose)s", purpose=wording.label(PURPOSES, tp.purpose)),
                  detail=[wording.reason_words(tp.reason)], private=tp.note or "")
            for tp in rows]


def customer_notes(session: Session, customer: Customer, limit: int) -> list[Entry]:
    """Notes staff wrote on the customer (private text: the access policy decides who reads it)."""
    rows = session.scalars(select(CustomerNote).where(CustomerNote.customer_id == customer.id)
                           .options(joinedload(CustomerNote.staff))
                           .order_by(CustomerNote.at.desc()).limit(limit))
    return [Entry(at=n.at, kind="note", title=_("Note"),
                  detail=[n.staff.display_name] if n.staff else [], private=n.text)
            for n in rows]
