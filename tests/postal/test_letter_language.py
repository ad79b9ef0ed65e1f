"""A letter in the reader's language, fully (issue 13): locale from language and country, Solar Hijri dates and
native digits in Persian letters, greetings by form of address, the signer in the reader's script."""
from __future__ import annotations

from retention.extensions import db
from retention.postal import service
from retention.staff.models import StaffUser
from tests.factories import customer
from tests.letters.letterkit import open_pdf, page_text, visual_lines
from tests.postal.test_postal import NOW, letter_world, persian_customer, render, us_customer, welcome_letter_for  # noqa: F401


def _logical_words(page) -> list[str]:
    return [w.logical if not w.text.isascii() else w.text for ln in visual_lines(page) for w in reversed(ln.words)]


def test_persian_letter_is_dated_solar_hijri_with_persian_digits_everywhere(app, client, signer, letter_world):
    letter = welcome_letter_for(client, signer, persian_customer())
    page = open_pdf(render(app, letter)).pages[0]
    text = page_text(page)
    # 2 March 2026 is 11 Esfand 1404; no Gregorian month, no French-derived "مارس".
    words = _logical_words(page)
    assert "اسفند" in words and "مارس" not in words
    assert "۱۴۰۴" in text and "2026" not in text
    # The phone number in the body is in Persian digits, in its left-to-right order.
    assert "+۴۴ ۲۰ ۷۹۴۶ ۰۰۰۰" in " ".join(ln.text.replace("\u00a0", " ") for ln in visual_lines(page))
    # The greeting by form of address: never the slashed "عزيزي/عزيزتي" of a form.
    assert "زهرا" in words and "گرامی،" in words and "/" not in text.split("L-")[0]


def test_arabic_letter_greets_without_a_slashed_form(app, client, signer, letter_world):
    letter = welcome_letter_for(client, signer, customer("C7", name="ليلى حداد", locale="ar"))
    text = page_text(open_pdf(render(app, letter)).pages[0])
    assert "/" not in text.split("L-")[0]
    assert "ﻋﺰﻳﺰﻱ" not in text and "عزيزي" not in text


def test_english_dates_follow_the_recipients_country(app, client, signer, letter_world):
    us = welcome_letter_for(client, signer, us_customer("C2"), sale_id="S2")
    uk = welcome_letter_for(client, signer, customer("C3", name="Amelia Jones", locale="en",
                                                     address={"lines": ["1 High Street"], "city": "London",
                                                              "region": "", "postal_code": "EC1A 1BB",
                                                              "country": "GB"}), sale_id="S3")
    us_lines = [ln.text.replace("\u00a0", " ") for ln in visual_lines(open_pdf(render(app, us)).pages[0])]
    uk_lines = [ln.text.replace("\u00a0", " ") for ln in visual_lines(open_pdf(render(app, uk)).pages[0])]
    assert "March 2, 2026" in us_lines
    assert "2 March 2026" in uk_lines


def test_the_signer_signs_in_the_readers_script(app, client, signer, letter_world):
    owner = db.session.query(StaffUser).filter_by(email="omar@example.com").one()
    owner.letter_signatures = {"fa": {"name": "عمر حداد", "title": "خدمات مشتریان"},
                               "ar": {"name": "عمر حداد", "title": "خدمة العملاء"}}
    db.session.commit()
    assert owner.signature_for("fa-IR") == ("عمر حداد", "خدمات مشتریان")
    assert owner.signature_for("en") == ("Omar Haddad", "Customer care")
    letter = welcome_letter_for(client, signer, persian_customer())
    page = open_pdf(render(app, letter)).pages[0]
    text = page_text(page)
    assert "Omar" not in text and "Customer care" not in text
    words = _logical_words(page)
    assert "حداد" in words and "مشتریان" in words
    signature_fonts = {c["fontname"].split("+")[1] for c in page.chars if c["size"] > 15}
    assert signature_fonts <= {"ArefRuqaa-Regular"}


def test_a_letter_whose_address_cannot_fit_says_why(app, client, signer, letter_world):
    # Five lines of up to 200 characters each pass the event contract; at 8 pt no window holds them.
    long_line = ("مجمع الأعمال التجاري الدولي، برج الواحة الشمالي، الطابق الثامن عشر، مكتب رقم 1807، شارع الأمير "
                 "محمد بن عبدالعزيز، حي العليا، بالقرب من الدوار الكبير")
    letter = welcome_letter_for(client, signer, customer("C8", name="ليلى حداد", locale="ar",
                                                         address={"lines": [f"{long_line} {i}" for i in range(5)],
                                                                  "city": "Riyadh", "region": "", "postal_code": "",
                                                                  "country": "SA"}))
    try:
        render(app, letter)
    except service.LetterError as exc:
        assert str(exc).startswith("address:") and "8 pt" in str(exc)
    else:
        raise AssertionError("the letter printed with an address the window cannot hold")
