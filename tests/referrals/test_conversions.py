"""Conversions: each fraud rule, the hold then earned, a refund before and after earning, the program cap."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from retention.extensions import db
from retention.referrals.models import LedgerEntry, Referral, ReferralOffer
from retention.tick import run as tick
from tests.factories import customer, event, sale_completed
from tests.referrals.conftest import NOW, make_program

OFFERED = NOW + dt.timedelta(days=60, hours=12)


def advocate(client, signer, **program) -> ReferralOffer:
    make_program(**program)
    signer.post(client, sale_completed("S1", cust=customer("C1", locale="en"), occurred_at=NOW))
    signer.post(client, event("nps.response", {"customer_id": "C1", "score": 10}, occurred_at=NOW + dt.timedelta(days=30)))
    tick(OFFERED)
    return db.session.scalar(select(ReferralOffer))


def friend(cid="F1", **overrides) -> dict:
    values = dict(locale="en", phone=f"+4420794600{len(cid):02d}", email=f"{cid.lower()}@friends.example",
                  address={"lines": [f"{cid} Friend Street"], "city": "London", "region": "", "postal_code": "N1 1AA",
                           "country": "GB"})
    values.update(overrides)
    return customer(cid, **values)


def buy(client, signer, cust, code, sale_id="F-S1", at=None, amount="120.00"):
    response = signer.post(client, sale_completed(sale_id, cust=cust, amount=amount, referral_code=code,
                                                  occurred_at=at or OFFERED + dt.timedelta(days=1)))
    assert response.status_code == 202
    tick((at or OFFERED + dt.timedelta(days=1)) + dt.timedelta(minutes=5))
    db.session.expire_all()
    return db.session.scalar(select(Referral).where(Referral.sale.has(external_id=sale_id)))


def test_a_friend_with_a_valid_code_makes_a_pending_referral(client, signer, ref_world):
    offer = advocate(client, signer)
    referral = buy(client, signer, friend(), offer.code.lower()[:4] + "-" + offer.code[4:])  # typed loosely
    assert referral.status == "pending" and referral.reason is None
    assert referral.reward_amount == Decimal("30.000") and referral.sale_amount == Decimal("120.000")


@pytest.mark.parametrize("cust, reason", [
    (customer("C1", locale="en"), "self_referral"),
    (friend(email="C1@example.net"), "same_email"),             # the advocate's, written in another case
    (friend(phone="+971 50 123 4567"), "same_phone"),           # the advocate's phone, spaced
    (friend(address={"lines": ["sheikh zayed road, 12"], "city": "DUBAI", "region": "", "postal_code": "",
                     "country": "AE"}), "same_address"),        # the advocate's address, folded
])
def test_each_fraud_rule_rejects_with_its_reason(client, signer, ref_world, cust, reason):
    offer = advocate(client, signer)
    referral = buy(client, signer, cust, offer.code)
    assert referral.status == "rejected" and referral.reason == reason


def test_an_existing_customer_is_rejected(client, signer, ref_world):
    offer = advocate(client, signer)
    signer.post(client, sale_completed("F-S0", cust=friend(), occurred_at=NOW + dt.timedelta(days=3)))
    referral = buy(client, signer, friend(), offer.code)
    assert referral.reason == "existing_customer"


def test_unknown_and_expired_codes_are_rejected(client, signer, ref_world):
    offer = advocate(client, signer, code_days="10")
    assert buy(client, signer, friend("F1"), "ZZZZ9999", "F-S1").reason == "unknown_code"
    late = buy(client, signer, friend("F2"), offer.code, "F-S2", at=OFFERED + dt.timedelta(days=11))
    assert late.reason == "expired_code"


def test_the_program_cap_rejects_past_the_last_place(client, signer, ref_world):
    offer = advocate(client, signer, max_referrals="1")
    assert buy(client, signer, friend("F1"), offer.code, "F-S1").status == "pending"
    second = buy(client, signer, friend("F22"), offer.code, "F-S2")
    assert second.status == "rejected" and second.reason == "program_cap"


def test_held_then_earned_with_one_ledger_row_even_if_the_tick_runs_twice(client, signer, ref_world):
    offer = advocate(client, signer, hold_days="30")
    referral = buy(client, signer, friend(), offer.code)
    tick(OFFERED + dt.timedelta(days=30))  # the hold is not over yet (sale + 30 days)
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status == "pending"
    tick(OFFERED + dt.timedelta(days=31, hours=1))
    tick(OFFERED + dt.timedelta(days=31, hours=2))
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status == "earned"
    rows = db.session.scalars(select(LedgerEntry)).all()
    assert [(r.kind, r.amount, r.currency, r.customer_id) for r in rows] == [
        ("reward", Decimal("30.000"), "USD", offer.customer_id)]


def test_a_refund_before_earning_voids_and_pays_nothing(client, signer, ref_world):
    offer = advocate(client, signer)
    referral = buy(client, signer, friend(), offer.code)
    signer.post(client, event("sale.refunded", {"sale_id": "F-S1", "reason": "changed mind"},
                              occurred_at=OFFERED + dt.timedelta(days=5)))
    tick(OFFERED + dt.timedelta(days=40))
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status == "void"
    assert db.session.scalars(select(LedgerEntry)).all() == []


def test_a_refund_after_earning_writes_a_reversing_row(client, signer, ref_world):
    offer = advocate(client, signer)
    referral = buy(client, signer, friend(), offer.code)
    tick(OFFERED + dt.timedelta(days=40))
    signer.post(client, event("sale.refunded", {"sale_id": "F-S1"}, occurred_at=OFFERED + dt.timedelta(days=45)))
    tick(OFFERED + dt.timedelta(days=45, hours=1))
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status == "reversed"
    rows = db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)).all()
    assert [(r.kind, r.amount) for r in rows] == [("reward", Decimal("30.000")), ("reversal", Decimal("-30.000"))]
    assert sum(r.amount for r in rows) == 0
