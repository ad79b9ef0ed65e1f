"""The customer's timeline: surveys sent, skipped or waiting (with the reason), answers (score, class; the comment
is private text) and closed surveys, in the reader's language."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from retention.customers.models import Customer
from retention.customers.timeline import Entry
from retention.i18n import number
from retention.surveys import labels
from retention.surveys.models import NpsAnswer, Survey, nps_category


def surveys(session: Session, customer: Customer, limit: int) -> list[Entry]:
    entries = []
    for survey in session.scalars(select(Survey).where(Survey.customer_id == customer.id)
                                  .order_by(Survey.created_at.desc()).limit(limit)):
        if survey.status == "skipped":
            entries.append(Entry(at=survey.closed_at or survey.created_at, kind="survey",
                                 title=_("NPS survey not sent"), detail=labels.label(labels.REASON, survey.reason)))
        elif survey.status == "to_send" and survey.reason:
            entries.append(Entry(at=survey.created_at, kind="survey", title=_("NPS survey waiting"),
                                 detail=labels.label(labels.REASON, survey.reason)))
        if survey.sent_at is not None:
            entries.append(Entry(at=survey.sent_at, kind="survey",
                                 title=_("NPS survey sent by %(channel)s", channel=labels.label(labels.CHANNEL,
                                                                                                survey.channel))))
        if survey.closed_at is not None and survey.status == "closed":
            entries.append(Entry(at=survey.closed_at, kind="survey", title=_("NPS survey closed")))
    for answer in session.scalars(select(NpsAnswer).where(NpsAnswer.customer_id == customer.id)
                                  .order_by(NpsAnswer.answered_at.desc()).limit(limit)):
        entries.append(Entry(at=answer.answered_at, kind="nps_answer",
                             title=_("NPS answer: %(score)s (%(class)s)", score=number(answer.score),
                                     **{"class": labels.label(labels.CLASS, nps_category(answer.score))}),
                             private=answer.comment or ""))
    return entries
