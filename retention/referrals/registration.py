"""What referrals plug into journeys: the referral-offer hand-out (an offer for staff to make)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import insert
from sqlalchemy.orm import Session

from retention.journeys import registry
from retention.referrals.models import ReferralOffer


def offers_to_make(session: Session, due: list[registry.Due], now: dt.datetime) -> None:
    session.execute(insert(ReferralOffer.__table__), [
        {"touchpoint_id": d.touchpoint_id, "customer_id": d.customer_id, "sale_id": d.sale_id, "status": "to_make",
         "created_at": now} for d in due])


def register() -> None:
    registry.register_handout(registry.HandOut("referral_offer", write=offers_to_make, needs_sale=True))
