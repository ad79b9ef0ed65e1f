"""Offers: eligibility at the moment of the referral step, the code, the letter that prints it."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from retention.extensions import db
from retention.postal.models import Letter
from retention.referrals.models import ReferralOffer
from retention.tick import run as tick
from tests.factories import customer, event, sale_completed
from tests.referrals.conftest import NOW, make_program


def _promoter(client, signer, cid="C1", score=10, amount="649.00", currency="USD", **cust):
    signer.post(client, sale_completed(f"S-{cid}", cust=customer(cid, **cust), amount=amount, currency=currency,
                                       occurred_at=NOW))
    signer.post(client, event("nps.response", {"customer_id": cid, "score": score},
                              occurred_at=NOW + dt.timedelta(days=30)))


def test_a_promoter_gets_an_offer_with_a_code_and_a_letter(client, signer, ref_world):
    make_program()
    _promoter(client, signer)
    tick(NOW + dt.timedelta(days=60, hours=12))
    offer = db.session.scalar(select(ReferralOffer))
    assert offer is not None and offer.status == "made"
    assert offer.reward_amount == 30 and offer.currency == "USD"  # 5% of 649 = 32.45, to a step of 5: 30
    letter = db.session.get(Letter, offer.letter_id)
    assert letter.template_key == "referral_offer" and letter.language == "ar"
