"""Eligibility at the moment of the referral step: false for a passive, for a promoter before day N, during an
open complaint, past the most offers; the step waits or is skipped with the reason on the timeline."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from retention.customers.models import Sale
from retention.extensions import db
from retention.journeys.models import Touchpoint
from retention.referrals import offers
from retention.referrals.models import ReferralOffer
from retention.tick import run as tick
from tests.factories import customer, event, sale_completed
from tests.referrals.conftest import NOW, make_program


def _sale(**kw) -> Sale:
    values = dict(amount=Decimal("649.00"), currency="USD", category="kitchen", sold_at=NOW, delivered_at=None,
                  refunded_at=None)
    values.update(kw)
    return Sale(**values)


def _verdict(app, now, score=10, complaint=False, made=0, sale=None, **program):
    p = make_program(**program)
    return offers.eligibility(sale or _sale(), now, programs=[p], latest_nps=score, open_complaint=complaint,
                              offers_made=made)


def test_a_promoter_after_day_n_outside_the_return_window_is_eligible(app):
    verdict = _verdict(app, NOW + dt.timedelta(days=30))
    assert verdict.ok and verdict.reward == Decimal("30.00")


def test_a_passive_is_not_eligible(app):
    verdict = _verdict(app, NOW + dt.timedelta(days=60), score=8)
    assert not verdict.ok and verdict.reason == "nps_below" and verdict.retry_at is None


def test_a_promoter_before_day_n_waits_for_day_n_counted_from_the_delivery(app):
    delivered = NOW + dt.timedelta(days=5)
    verdict = _verdict(app, NOW + dt.timedelta(days=31), sale=_sale(delivered_at=delivered))
    assert not verdict.ok and verdict.reason == "too_early" and verdict.retry_at == delivered + dt.timedelta(days=30)


def test_inside_the_return_window_waits_for_its_end(app):
    verdict = _verdict(app, NOW + dt.timedelta(days=20), min_days="10", return_window_days="28")
    assert verdict.reason == "return_window" and verdict.retry_at == NOW + dt.timedelta(days=28)


def test_an_open_complaint_makes_the_offer_wait(app):
    verdict = _verdict(app, NOW + dt.timedelta(days=60), complaint=True)
    assert not verdict.ok and verdict.reason == "open_complaint" and verdict.retry_at is not None


def test_at_most_k_offers_and_only_included_categories(app):
    assert _verdict(app, NOW + dt.timedelta(days=60), made=1).reason == "max_offers"
    assert _verdict(app, NOW + dt.timedelta(days=60), categories="garden, tools").reason == "category"


def test_the_step_before_day_n_waits_and_says_why_on_the_timeline(client, signer, ref_world):
    make_program(min_days="75")
    signer.post(client, sale_completed("S1", cust=customer("C1", locale="en"), occurred_at=NOW))
    signer.post(client, event("nps.response", {"customer_id": "C1", "score": 10}, occurred_at=NOW + dt.timedelta(days=30)))
    tick(NOW + dt.timedelta(days=60, hours=12))
    step = db.session.scalar(select(Touchpoint).where(Touchpoint.kind == "referral_offer"))
    assert step.status == "scheduled" and step.due_at == NOW + dt.timedelta(days=75)
    assert step.reason == "referral: too_early until 2026-05-16"
    assert db.session.scalar(select(ReferralOffer)) is None
    from retention.journeys import wording

    assert wording.reason_words(step.reason) == "Referral offer waits until 2026-05-16: too soon after the delivery"
    tick(NOW + dt.timedelta(days=75, hours=1))  # on the day: made
    assert db.session.scalar(select(ReferralOffer)).status == "made"


def test_the_step_is_skipped_for_a_customer_without_a_program(client, signer, ref_world):
    signer.post(client, sale_completed("S1", cust=customer("C1", locale="en"), occurred_at=NOW))
    signer.post(client, event("nps.response", {"customer_id": "C1", "score": 10}, occurred_at=NOW + dt.timedelta(days=30)))
    tick(NOW + dt.timedelta(days=60, hours=12))
    step = db.session.scalar(select(Touchpoint).where(Touchpoint.kind == "referral_offer"))
    assert step.status == "skipped" and step.reason == "referral: no_program"
