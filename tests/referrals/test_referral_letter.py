"""The referral letter read back: its code, the reward in figures and words, and a QR code that decodes to the
code's link."""
from __future__ import annotations

import datetime as dt

import pypdfium2
import pytest
import zxingcpp
from sqlalchemy import select

from retention.extensions import db
from retention.postal import service
from retention.postal.models import Letter
from retention.referrals.models import ReferralOffer
from retention.referrals.offers import display_code
from retention.tick import run as tick
from tests.factories import customer, event, sale_completed
from tests.letters.letterkit import open_pdf
from tests.referrals.conftest import NOW, make_program


def _offer_letter(app, client, signer, cust: dict, amount="649.00", currency="USD", **program):
    make_program(**program)
    signer.post(client, sale_completed("S1", cust=cust, amount=amount, currency=currency, occurred_at=NOW))
    signer.post(client, event("nps.response", {"customer_id": cust["id"], "score": 10},
                              occurred_at=NOW + dt.timedelta(days=30)))
    tick(NOW + dt.timedelta(days=60, hours=12))
    offer = db.session.scalar(select(ReferralOffer))
    letter = db.session.get(Letter, offer.letter_id)
    pdf = service.render_one(db.session, letter, service.company_from(app.config), (NOW + dt.timedelta(days=61)).date())
    return offer, pdf


def _qr_texts(pdf: bytes) -> list[str]:
    document = pypdfium2.PdfDocument(pdf)
    found = []
    for page in document:
        image = page.render(scale=300 / 72).to_pil()
        found += [code.text for code in zxingcpp.read_barcodes(image)]
    return found


def test_english_letter_prints_the_code_the_reward_and_a_qr_link(app, client, signer, ref_world):
    offer, pdf = _offer_letter(app, client, signer, customer("C1", name="Olivia Smith", locale="en"))
    text = " ".join(open_pdf(pdf).pages[0].extract_text().split())
    assert display_code(offer.code) in text
    assert "$30.00" in text and "thirty US dollars" in text
    assert "as credit on your account" in text and "10%" in text
    assert _qr_texts(pdf) == [f"{app.config['PUBLIC_URL'].rstrip('/')}/r/{offer.code}"]


@pytest.mark.parametrize("locale, words", [("fa", "سی دلار آمریکا"), ("ar", "ثلاثون دولار أمريكي")])
def test_arabic_and_persian_letters_write_the_reward_in_words(app, client, signer, ref_world, locale, words):
    offer, pdf = _offer_letter(app, client, signer, customer("C1", locale=locale))
    pages = open_pdf(pdf)
    assert display_code(offer.code) in pages.pages[0].extract_text()
    assert _qr_texts(pdf) == [f"{app.config['PUBLIC_URL'].rstrip('/')}/r/{offer.code}"]
    from tests.letters.letterkit import visual_lines

    logical = " ".join(" ".join(w.logical for w in reversed(line.words)) for line in visual_lines(pages.pages[0]))
    assert words in logical
