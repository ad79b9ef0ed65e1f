"""Offers: eligibility at the moment of the referral step, the code, the letter that prints it."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

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


def test_a_complaint_being_opened_while_the_offers_are_made_keeps_the_offer_back(app, client, signer, ref_world):
    """A case being written for the customer at the same moment (not committed yet) holds the offer back for a
    later round rather than letting it go out beside the case; once the case is committed it holds the offer while
    it is open. The other customer of the same tick gets theirs."""
    from sqlalchemy.orm import Session

    from retention.complaints import service as complaints
    from retention.customers.models import Customer
    from retention.journeys import wording
    from retention.journeys.models import Touchpoint
    from retention.mail.models import OutboundEmail
    from tests.faults.faultkit import require_postgresql

    require_postgresql()
    make_program(channel="auto")
    _promoter(client, signer, "LK1", locale="en")
    _promoter(client, signer, "LK2", locale="en")
    tick(NOW + dt.timedelta(days=31))  # the events applied, the steps before the offer handed out
    unhappy = db.session.scalar(select(Customer).where(Customer.external_id == "LK1"))
    when = NOW + dt.timedelta(days=60, hours=12)

    def offered() -> dict[str, tuple]:
        db.session.expire_all()
        rows = db.session.execute(select(Customer.external_id, ReferralOffer.channel)
                                  .join(ReferralOffer, ReferralOffer.customer_id == Customer.id)).all()
        return dict(rows)

    def step_of(customer_id: int) -> Touchpoint:
        return db.session.scalar(select(Touchpoint).where(Touchpoint.kind == "referral_offer",
                                                          Touchpoint.customer_id == customer_id))

    def reached(customer_id: int) -> int:
        return (db.session.scalar(select(func.count()).select_from(OutboundEmail).where(
            OutboundEmail.customer_id == customer_id, OutboundEmail.kind == "referral_offer")) +
            db.session.scalar(select(func.count()).select_from(Letter).where(
                Letter.customer_id == customer_id, Letter.template_key == "referral_offer")))

    other = Session(db.engine)  # a worker applying complaint.opened, or a person on the case page
    try:
        complaints.open_case(other, other.get(Customer, unhappy.id), channel="phone", category="delivery",
                             summary="Broken on arrival", now=when, source="event", actor="test")
        other.flush()  # written, not committed: its foreign key holds a key-share lock on the customer

        tick(when)
        assert offered() == {"LK2": "email"}  # the other customer of the batch is not held up
        step = step_of(unhappy.id)
        assert (step.status, step.due_at) == ("scheduled", when + dt.timedelta(minutes=1))  # asked again next tick
        assert wording.reason_words(step.reason).startswith("Referral offer waits until")
        assert "record was being changed" in wording.reason_words(step.reason)
        assert reached(unhappy.id) == 0

        other.commit()
    finally:
        other.close()
    tick(when + dt.timedelta(minutes=2))
    assert offered() == {"LK2": "email"}  # no offer while the case is open
    step = step_of(unhappy.id)
    # the default journey's step asks for "a promoter and not open_complaint": the case now decides it
    assert (step.status, step.reason) == ("skipped", "condition was false when due") and reached(unhappy.id) == 0


def test_an_offer_whose_letter_a_letter_opt_out_cancels_is_cancelled_with_the_reason(app, client, signer, auth,
                                                                                    ref_world, clock):
    """The customer opts out of letters before the offer's letter is posted: the letter is cancelled and the offer
    with it (status and reason), out of the offers made (report, program page, offers allowed), shown so on the
    timeline and in the API. An offer sent by email is not touched by a letter opt-out."""
    from retention.mail.optouts import opt_out
    from retention.referrals import reports
    from retention.referrals.offers import offers_made
    from tests.factories import staff, token_for

    make_program(channel="auto")
    _promoter(client, signer, "C1", locale="en", email=None)  # no email address: the offer goes by letter
    _promoter(client, signer, "C2", locale="en")  # by email
    when = NOW + dt.timedelta(days=60, hours=12)
    tick(when)
    by_letter, by_email = (db.session.scalar(select(ReferralOffer).where(ReferralOffer.customer.has(external_id=c)))
                           for c in ("C1", "C2"))
    assert (by_letter.channel, by_email.channel) == ("letter", "email")
    [figures] = reports.figures(db.session, when)
    assert figures.total.offers == 2

    cancelled_at = when + dt.timedelta(days=2)
    for offer in (by_letter, by_email):
        opt_out(db.session, offer.customer_id, "letter", source="staff", now=cancelled_at, actor="test")
    db.session.commit()
    db.session.expire_all()
    assert (by_letter.status, by_letter.reason, by_letter.cancelled_at) == ("cancelled", "letter_opted_out",
                                                                            cancelled_at)
    assert db.session.get(Letter, by_letter.letter_id).status == "cancelled"
    assert (by_email.status, by_email.reason) == ("made", None)  # it reached them by email
    [figures] = reports.figures(db.session, cancelled_at)
    assert figures.total.offers == 1
    assert offers_made(db.session, [by_letter.customer_id, by_email.customer_id]) == {by_email.customer_id: 1}

    clock.set(cancelled_at + dt.timedelta(hours=1))
    headers = {"Authorization": f"Bearer {token_for(app, staff(app, 'api@example.com', 'marketing'))}"}
    listed = {o["customer"]: o for o in client.get("/api/v1/referral-offers/", headers=headers).get_json()}
    assert (listed["C1"]["status"], listed["C1"]["reason"]) == ("cancelled", "letter_opted_out")
    assert (listed["C2"]["status"], listed["C2"]["reason"]) == ("made", None)
    staff(app, "sara@example.com", "onboarding")
    auth.login("sara@example.com")
    html = client.get("/customers/C1").get_data(as_text=True)
    assert "Referral offer not sent" in html
    assert "the customer opted out of letters before its letter was posted" in html
