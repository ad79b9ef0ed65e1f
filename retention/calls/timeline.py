"""Timeline entries from calls: each call made to the customer and its outcome, ad-hoc calls opened, notes."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from retention import i18n
from retention.audit.models import AuditEntry
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
    """Calls opened outside the journey (calls/adhoc.py): why, for whom, when (the note is private); a call that
    was closed before anyone made it (superseded, the customer opted out...) with the reason; a call that came to
    serve another purpose (adhoc.repurpose), so its "opened" line still names what it was opened for."""
    rows = session.scalars(select(Touchpoint).where(Touchpoint.customer_id == customer.id,
                                                    Touchpoint.step_id.is_(None), Touchpoint.kind == "call")
                           .options(joinedload(Touchpoint.owner))
                           .order_by(Touchpoint.id.desc()).limit(limit)).all()
    changes = _repurposed(session, [tp.id for tp in rows], limit)
    entries = []
    for tp in rows:
        if tp.handed_at is None and tp.status == SKIPPED:
            # never opened: the customer asked not to be phoned (calls/adhoc.py), said with the reason
            entries.append(Entry(at=tp.completed_at or tp.due_at, kind="call:not_opened",
                                 title=_("Call not made: %(purpose)s", purpose=wording.label(PURPOSES, tp.purpose)),
                                 detail=[wording.reason_words(tp.reason)], private=tp.note or ""))
            continue
        mine = changes.get(tp.id, [])
        opened_for = (mine[0].changes or {}).get("from", tp.purpose) if mine else tp.purpose
        entries.append(Entry(at=tp.handed_at or tp.due_at, kind="call:opened",
                             title=_("Call opened: %(purpose)s", purpose=wording.label(PURPOSES, opened_for)),
                             detail=[x for x in (tp.owner.display_name if tp.owner else "",
                                                 _("due %(when)s", when=i18n.when(tp.due_at))) if x],
                             private=tp.note or ""))
        for entry in mine:
            entries.append(Entry(at=entry.at, kind="call:repurposed",
                                 title=_("Call changed to: %(purpose)s", purpose=wording.label(
                                     PURPOSES, (entry.changes or {}).get("to"))),
                                 detail=[_("Its time and owner stay as they were")]))
        if tp.status == SKIPPED:
            # closed while still to make (superseded, opted out...); a reason the services write is said in words
            known = wording.read_reason(tp.reason)[0] is not None
            entries.append(Entry(at=tp.completed_at or tp.due_at, kind="call:closed",
                                 title=_("Call closed: %(purpose)s", purpose=wording.label(PURPOSES, tp.purpose)),
                                 detail=[wording.reason_words(tp.reason)] if known else []))
    return entries


def _repurposed(session: Session, touchpoint_ids: list[int], limit: int) -> dict[int, list[AuditEntry]]:
    """{call id: its "call.repurposed" audit entries, oldest first} (calls/adhoc.py repurpose)."""
    if not touchpoint_ids:
        return {}
    out: dict[int, list[AuditEntry]] = {}
    for entry in session.scalars(select(AuditEntry).where(
            AuditEntry.entity_type == "touchpoint", AuditEntry.action == "call.repurposed",
            AuditEntry.entity_id.in_([str(i) for i in touchpoint_ids])).order_by(AuditEntry.at, AuditEntry.id)
            .limit(limit)):
        out.setdefault(int(entry.entity_id), []).append(entry)
    return out


def superseded_words(params: tuple, day, number) -> str:
    """"superseded by the <purpose> call" (calls/adhoc.py supersede) in the reader's words."""
    return _("Superseded by another call: %(purpose)s", purpose=wording.label(PURPOSES, params[0]))


def customer_notes(session: Session, customer: Customer, limit: int) -> list[Entry]:
    """Notes staff wrote on the customer (private text: the access policy decides who reads it)."""
    rows = session.scalars(select(CustomerNote).where(CustomerNote.customer_id == customer.id)
                           .options(joinedload(CustomerNote.staff))
                           .order_by(CustomerNote.at.desc()).limit(limit))
    return [Entry(at=n.at, kind="note", title=_("Note"),
                  detail=[n.staff.display_name] if n.staff else [], private=n.text)
            for n in rows]
