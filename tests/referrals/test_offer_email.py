"""An offer by email (retention/mail): received by a real SMTP server in the customer's language, with the code,
the reward in words and the link; a program that sends by email skips a customer who cannot be emailed."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from retention.extensions import db
from retention.journeys.models import Touchpoint
from retention.referrals.models import ReferralOffer
from retention.referrals.offers import display_code
from retention.tick import run as tick
from tests.factories import customer, event, sale_completed, tick_and_work
from tests.referrals.conftest import NOW, make_program


def _body(message, subtype: str) -> str:
    for part in message.walk():
        if part.get_content_type() == f"text/{subtype}":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    return ""


def test_the_offer_email_arrives_in_persian_with_code_reward_and_link(app, client, signer, ref_world, smtp_server):
    app.config["SMTP_URL"] = smtp_server.url
    make_program(channel="auto")
    signer.post(client, sale_completed("S1", cust=customer("C1", name="زهرا محمدی", locale="fa"), occurred_at=NOW))
    signer.post(client, event("nps.response", {"customer_id": "C1", "score": 10}, occurred_at=NOW + dt.timedelta(days=30)))
    tick_and_work(NOW + dt.timedelta(days=60, hours=12))  # offered by the tick, sent by the send job
    offer = db.session.scalar(select(ReferralOffer))
    assert offer.channel == "email" and offer.letter_id is None
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    text, html = _body(message, "plain"), _body(message, "html")
    assert display_code(offer.code) in text and f"/r/{offer.code}" in text
    assert "سی دلار آمریکا" in text and 'dir="rtl"' in html
    assert message["List-Unsubscribe"]
    tick_and_work(NOW + dt.timedelta(days=60, hours=13))
    assert len(smtp_server.messages) == 1  # never twice


def test_an_email_only_program_skips_a_customer_without_email(app, client, signer, ref_world):
    make_program(channel="email")
    signer.post(client, sale_completed("S1", cust=customer("C1", locale="en", email=None), occurred_at=NOW))
    signer.post(client, event("nps.response", {"customer_id": "C1", "score": 10}, occurred_at=NOW + dt.timedelta(days=30)))
    tick(NOW + dt.timedelta(days=60, hours=12))
    step = db.session.scalar(select(Touchpoint).where(Touchpoint.kind == "referral_offer"))
    assert step.status == "skipped" and step.reason == "referral: cannot_email"
    assert db.session.scalar(select(ReferralOffer)) is None
