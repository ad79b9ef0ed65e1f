"""Dates, money and digits as a reader of each language expects them."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import letterkit  # noqa: F401  (puts the project on sys.path)

from letters import format_letter_date, format_money, greeting, letter_locale, native_digits, to_digits
from letters.l10n import page_label

D = datetime.date(2024, 3, 15)
NB = "\u00a0"   # dates and amounts are one unit: no line ever breaks inside them


def _spaced(text: str) -> str:
    assert " " not in text, "a date or amount must not break across lines"
    return text.replace(NB, " ")


def test_english_date_is_spelled_out():
    assert _spaced(format_letter_date(D, "en")) == "March 15, 2024"


def test_english_date_style_follows_the_recipients_country():
    assert _spaced(format_letter_date(D, letter_locale("en", "US"))) == "March 15, 2024"
    assert _spaced(format_letter_date(D, letter_locale("en", "GB"))) == "15 March 2024"
    assert _spaced(format_letter_date(D, letter_locale("en", "DE"))) == "15 March 2024"
    assert letter_locale("ar", "EG") == "ar_EG" and letter_locale("fa", "IR") == "fa_IR"
    assert letter_locale("ar", "") == "ar"


def test_german_date_uses_german_month_names():
    assert _spaced(format_letter_date(D, "de")) == "15. März 2024"


def test_arabic_date_with_arabic_indic_digits():
    assert _spaced(format_letter_date(D, "ar", digits="arab")) == "١٥ مارس ٢٠٢٤"


def test_persian_date_is_solar_hijri_with_persian_digits():
    # 15 March 2024 is 25 Esfand 1402.
    assert _spaced(format_letter_date(D, "fa", digits="arabext")) == "۲۵ اسفند ۱۴۰۲"
    assert _spaced(format_letter_date(datetime.date(2026, 8, 17), "fa_IR", digits="arabext")) == "۲۶ مرداد ۱۴۰۵"
    assert "اوت" not in format_letter_date(datetime.date(2026, 8, 17), "fa")


def test_unknown_language_falls_back_to_english():
    assert _spaced(format_letter_date(D, "xx")) == "March 15, 2024"


def test_persian_amount_puts_the_number_before_the_currency():
    assert _spaced(format_money(Decimal("27258000"), "IRR", "fa", digits="arabext")) == "۲۷٬۲۵۸٬۰۰۰ ریال"
    assert _spaced(format_money(Decimal("649"), "USD", "fa", digits="arabext")) == "۶۴۹٫۰۰ دلار آمریکا"


def test_native_digits_reach_every_number_but_codes_and_model_names():
    text = "تماس: \u2066+44 20 7946 0000\u2069، کد پستی 1234567890، Galaxy S24، L-000123"
    out = native_digits(text, "arabext")
    assert "+۴۴ ۲۰ ۷۹۴۶ ۰۰۰۰" in out and "۱۲۳۴۵۶۷۸۹۰" in out
    assert "S24" in out and "L-000123" in out
    assert native_digits(text, "latn") == text


@pytest.mark.parametrize("language, locale, form, expected", [
    ("en", "en_GB", "mr", "Dear Mr Jones,"),
    ("en", "en_GB", "ms", "Dear Ms Jones,"),
    ("en", "en_US", "mr", "Dear Mr. Jones,"),
    ("en", "en_US", "ms", "Dear Ms. Jones,"),
    ("en", "en_GB", "neutral", "Dear Amelia Jones,"),
    ("en", "en_GB", "", "Dear Amelia Jones,"),
    ("ar", "ar_SA", "mr", "السيد عمر حداد المحترم،"),
    ("ar", "ar_EG", "ms", "السيدة ليلى حداد المحترمة،"),
    ("ar", "ar", "neutral", "تحية طيبة إلى ليلى حداد،"),
    ("ar", "ar", "", "تحية طيبة إلى ليلى حداد،"),
    ("fa", "fa_IR", "mr", "جناب آقای علی رضایی،"),
    ("fa", "fa_IR", "ms", "سرکار خانم زهرا رضایی،"),
    ("fa", "fa", "neutral", "زهرا رضایی گرامی،"),
    ("fa", "fa", "", "زهرا رضایی گرامی،"),
])
def test_greeting_per_language_and_form_of_address(language, locale, form, expected):
    names = {"en": "Amelia Jones", "ar": "ليلى حداد" if form != "mr" else "عمر حداد",
             "fa": "زهرا رضایی" if form != "mr" else "علی رضایی"}
    assert greeting(language, names[language], "", form, locale) == expected


def test_greeting_is_never_a_slashed_form_nor_by_first_name_alone():
    for lang in ("ar", "fa", "en"):
        for form in ("mr", "ms", "neutral", "", "unknown-form"):
            text = greeting(lang, "Omar  Ali", "Omar", form)
            assert "/" not in text and "Omar Ali" in text or "Ali" in text
    assert "عزيزي" not in greeting("ar", "عمر علي", "عمر") and "عزيزتي" not in greeting("ar", "ليلى", "ليلى")
    # An unknown form greets like "not known"; the old first-name-only "مرحبًا Omar،" is gone.
    assert greeting("ar", "Omar Ali", "Omar", "sir") == "تحية طيبة إلى Omar Ali،"


def test_money_in_english():
    assert format_money(Decimal("1234.5"), "USD", "en") == "$1,234.50"


def test_money_in_arabic_uses_arabic_separators_with_arabic_indic_digits():
    text = format_money(Decimal("1234.5"), "EUR", "ar", digits="arab")
    # Number first, then the currency named in words: no symbol to misread.
    assert _spaced(text) == "١٬٢٣٤٫٥٠ يورو"


def test_money_in_persian_digits():
    text = format_money(Decimal("1234.5"), "USD", "fa", digits="arabext")
    assert "۱٬۲۳۴٫۵۰" in text
    assert not any(ch.isascii() and ch.isdigit() for ch in text)


def test_money_in_german_puts_the_symbol_after():
    assert format_money(Decimal("1234.5"), "EUR", "de") == "1.234,50\xa0€"


def test_to_digits_converts_between_all_three_systems():
    assert to_digits("Order 2024-15", "arab") == "Order ٢٠٢٤-١٥"
    assert to_digits("٢٠٢٤", "arabext") == "۲۰۲۴"
    assert to_digits("۲۰۲۴ and ١٥", "latn") == "2024 and 15"


def test_unknown_digit_system_is_refused():
    with pytest.raises(ValueError):
        to_digits("1", "roman")


def test_page_labels_are_localized():
    assert page_label(1, 2, "en") == "Page 1 of 2"
    assert page_label(1, 2, "ar", "arab") == "صفحة ١ من ٢"
    assert page_label(2, 3, "fa", "arabext") == "صفحهٔ ۲ از ۳"
    assert page_label(1, 2, "de") == "Seite 1 von 2"
    assert page_label(1, 2, "sw") == "Page 1 of 2"
