"""Rules about NPS answers (sending surveys arrives with the surveys feature)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from retention.queries import id_in
from retention.surveys.models import NpsAnswer


def record_answer(session: Session, customer, score: int, comment: str | None, answered_at: dt.datetime, *,
                  source: str, event_id: int | None = None) -> NpsAnswer | None:
    """Store an NPS answer once (per inbound event); an answer means the customer is not silent."""
    if event_id is not None and session.scalar(select(NpsAnswer.id).where(NpsAnswer.event_id == event_id)):
        return None
    answer = NpsAnswer(customer=customer, score=score, comment=comment, answered_at=answered_at, source=source,
                       event_id=event_id)
    session.add(answer)
    customer.silent_at = None
    return answer


def has_answered(session: Session, customer_id: int) -> bool:
    """Whether the customer ever answered an NPS survey (one who has is not silent)."""
    return session.scalar(select(NpsAnswer.id).where(NpsAnswer.customer_id == customer_id).limit(1)) is not None


def latest_scores(session: Session, customer_ids) -> dict[int, int]:
    """The latest NPS score of each customer that has one."""
    latest: dict[int, tuple[dt.datetime, int]] = {}
    ids = list(set(customer_ids))
    for start in range(0, len(ids), 5000):
        for cid, at, score in session.execute(select(NpsAnswer.customer_id, NpsAnswer.answered_at, NpsAnswer.score)
                                              .where(id_in(session, NpsAnswer.customer_id, ids[start:start + 5000]))):
            if cid not in latest or at >= latest[cid][0]:
                latest[cid] = (at, score)
    return {cid: score for cid, (at, score) in latest.items()}
