"""What surveys plug into the layers below: the NPS survey hand-out, the NPS facts, the nps.response handler."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import insert
from sqlalchemy.orm import Session

from retention.hooks import processing
from retention.hooks.models import InboundEvent
from retention.journeys import registry
from retention.surveys import service
from retention.surveys.models import Survey, nps_category


def surveys_to_send(session: Session, due: list[registry.Due], now: dt.datetime) -> None:
    session.execute(insert(Survey.__table__), [
        {"touchpoint_id": d.touchpoint_id, "customer_id": d.customer_id, "status": "to_send", "created_at": now}
        for d in due])


def nps_facts(session: Session, customer_ids: set[int]) -> dict[int, dict]:
    """latest_nps and nps_category of each customer that answered."""
    return {cid: {"latest_nps": score, "nps_category": nps_category(score)}
            for cid, score in service.latest_scores(session, customer_ids).items()}


def _nps_response(batch: processing.Batch, event: InboundEvent, now: dt.datetime) -> None:
    customer = processing.require_customer(batch, event.data["customer_id"])
    service.record_answer(batch.session, customer, event.data["score"], event.data.get("comment"),
                          event.occurred_at, source="event", event_id=event.id)


NPS_FACTS = registry.Facts(nps_facts, defaults={"latest_nps": None, "nps_category": nps_category(None)})


def register() -> None:
    registry.register_handout(registry.HandOut("nps_survey", write=surveys_to_send))
    registry.register_facts(NPS_FACTS)
    processing.on("nps.response", _nps_response)
