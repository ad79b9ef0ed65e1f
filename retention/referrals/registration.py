"""What referrals plug into the layers below: the referral-offer hand-out, the conversion on sale.completed, the
void/reversal on sale.refunded, the timeline, the reasons a step waits or is skipped, the letter's `referral`
variables, and the offers a letter opt-out cancels."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.orm import Session

from retention.customers import timeline as customer_timeline
from retention.hooks import processing
from retention.hooks.models import InboundEvent
from retention.journeys import registry, wording
from retention.postal import batches, service as postal
from retention.referrals import conversions, delivery, labels, offers
from retention.referrals.timeline import referrals as referral_timeline


def make_offers(session: Session, due: list[registry.Due], now: dt.datetime) -> None:
    offers.make_offers(session, due, now)


def _sale_completed(batch: processing.Batch, event: InboundEvent, now: dt.datetime) -> None:
    sale = batch.found.get("new_sale")
    if sale is not None and sale.referral_code:
        conversions.convert(batch.session, sale, now)


def _sale_refunded(batch: processing.Batch, event: InboundEvent, now: dt.datetime) -> None:
    conversions.refunded(batch.session, batch.found["sale"], now)


REASON = re.compile(r"referral: ([a-z_]+)(?: until (\d{4}-\d{2}-\d{2}))?\Z")


def register() -> None:
    # Written in the hand-out (not deferred): eligibility decides there whether the step waits (too early, a complaint).
    registry.register_handout(registry.HandOut("referral_offer", write=make_offers, needs_sale=True, deferred=False))
    processing.on("sale.completed", _sale_completed)
    processing.on("sale.refunded", _sale_refunded)
    customer_timeline.register_source(referral_timeline)
    wording.register_reason("referral", REASON, labels.offer_reason_words)
    postal.LINK_VARIABLES.setdefault("referral", dict(delivery.SAMPLE))
    postal.register_letter_links(delivery.letter_links, ("referral",))
    batches.on_letters_cancelled(offers.cancel_unposted_offers)  # its letter cancelled: the offer was not made
