"""What surveys plug into the layers below: the NPS survey hand-out and its step check, the NPS facts, the
nps.response handler, the timeline, the survey link letters print, the follow-up call purposes, and what a letter
opt-out does to surveys on letters not posted yet."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from retention.customers import timeline as customer_timeline
from retention.hooks import processing
from retention.hooks.models import InboundEvent
from retention.journeys import registry
from retention.journeys.service import N_, JourneyError
from retention.postal import batches, service as postal
from retention.postal.models import LetterTemplate
from retention.queries import insert_rows
from retention.surveys import service, sending
from retention.surveys.models import Survey, nps_category
from retention.surveys.timeline import surveys as survey_timeline


def surveys_to_send(session: Session, due: list[registry.Due], now: dt.datetime) -> None:
    """One survey "to send" per due step; the tick sends it right after (surveys/sending.py)."""
    insert_rows(session, Survey.__table__, [
        {"touchpoint_id": d.touchpoint_id, "customer_id": d.customer_id, "sale_id": d.sale_id, "status": "to_send",
         "created_at": now, "wanted_channel": getattr(d.step, "channel", None) or "auto",
         "letter_template": getattr(d.step, "template_key", None)}
        for d in due])


def check_survey_step(session: Session, where, spec: dict) -> None:
    """A survey that may go on paper needs its letter template in every letter language."""
    if (spec.get("channel") or "auto") == "email":
        return
    name = spec.get("template_key") or sending.LETTER_TEMPLATE
    found = set(session.scalars(select(LetterTemplate.language).where(
        LetterTemplate.key == name, LetterTemplate.is_current.is_(True))))
    missing = [lang for lang in postal.LANGUAGES if lang not in found]
    if missing:
        raise JourneyError(N_("no letter template '%(name)s' in %(languages)s"), where=where, field="template_key",
                           name=name, languages=", ".join(missing))


def nps_facts(session: Session, customer_ids: set[int]) -> dict[int, dict]:
    """latest_nps and nps_category of each customer that answered."""
    return {cid: {"latest_nps": score, "nps_category": nps_category(score)}
            for cid, score in service.latest_scores(session, customer_ids).items()}


def _nps_response(batch: processing.Batch, event: InboundEvent, now: dt.datetime) -> None:
    customer = processing.require_customer(batch, event.data["customer_id"])
    service.record_answer(batch.session, customer, event.data["score"], event.data.get("comment"),
                          event.occurred_at, source="event", event_id=event.id, now=now)


NPS_FACTS = registry.Facts(nps_facts, defaults={"latest_nps": None, "nps_category": nps_category(None)})


def register() -> None:
    registry.register_handout(registry.HandOut("nps_survey", write=surveys_to_send, needs_sale=True))
    registry.register_step_check("nps_survey", check_survey_step)
    registry.register_facts(NPS_FACTS)
    processing.on("nps.response", _nps_response)
    customer_timeline.register_source(survey_timeline)
    postal.register_letter_links(sending.letter_links, ("survey_url",))
    batches.on_letters_cancelled(sending.cancel_letter_surveys)  # its letter cancelled: the survey was not sent
