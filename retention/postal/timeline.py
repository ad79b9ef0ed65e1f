"""Timeline entries from the mail room: letters (where each stands, with its batch), reprints, returned mail
and returns undone. Titles are in the reader's language (the timeline is read inside a page)."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from retention.customers.models import Customer
from retention.customers.timeline import Entry
from retention.i18n import digits
from retention.postal import labels
from retention.postal.models import Letter, ReturnedMail


def _language() -> str:
    from retention.i18n import ui_language

    try:
        return ui_language()
    except RuntimeError:  # outside a request (a job, a test): English
        return "en"


def letters(session: Session, customer: Customer, limit: int) -> list[Entry]:
    """Letters queued, laid out in a batch, printed, mailed or returned; reprints; returns and their undo."""
    names = labels.template_names(session, _language())
    entries = []
    for letter in session.scalars(select(Letter).where(Letter.customer_id == customer.id)
                                  .options(joinedload(Letter.batch))
                                  .order_by(Letter.created_at.desc()).limit(limit)):
        at = letter.returned_at or letter.mailed_at or letter.printed_at or letter.created_at
        name = labels.template_name(names, letter.template_key)
        stage = str(labels.LETTER_STAGE[labels.letter_stage(letter)])
        if letter.batch_id:
            title = _("Letter “%(name)s”: %(status)s (batch %(batch)s)", name=name, status=stage,
                      batch=digits(letter.batch_id))
        else:
            title = _("Letter “%(name)s”: %(status)s", name=name, status=stage)
        entries.append(Entry(at=at, kind="letter", title=title, detail=letter.error or "",
                             extra={"letter_id": letter.id, "batch_id": letter.batch_id, "status": letter.status}))
        if letter.reprinted_at:
            entries.append(Entry(at=letter.reprinted_at, kind="letter",
                                 title=_("Letter “%(name)s” reprinted", name=name),
                                 extra={"letter_id": letter.id, "batch_id": letter.batch_id,
                                        "reprints": letter.reprint_count}))
    for returned in session.scalars(select(ReturnedMail).where(ReturnedMail.customer_id == customer.id)
                                    .options(joinedload(ReturnedMail.letter))
                                    .order_by(ReturnedMail.returned_at.desc()).limit(limit)):
        name = labels.template_name(names, returned.letter.template_key)
        reason = str(labels.RETURN_REASON.get(returned.reason, returned.reason))
        entries.append(Entry(at=returned.returned_at, kind="letter",
                             title=_("Letter “%(name)s” came back: %(reason)s", name=name, reason=reason),
                             detail=returned.note, extra={"letter_id": returned.letter_id, "reason": returned.reason}))
        if returned.undone_at:
            entries.append(Entry(at=returned.undone_at, kind="letter",
                                 title=_("Return of letter “%(name)s” undone (recorded by mistake)", name=name),
                                 extra={"letter_id": returned.letter_id}))
    return entries
