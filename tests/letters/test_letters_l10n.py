"""Dates, money and digits as a reader of each language expects them."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import letterkit  # noqa: F401  (puts the project on sys.path)

from letters import format_letter_date, format_money, to_digits
from letters.l10n import page_label

D = datetime.date(2024, 3, 15)


def test_english_date_is_spelled_out():
    assert format_letter_date(D, "en") == "March 15, 2024"


def test_german_date_uses_german_month_names():
    assert format_letter_date(D, "de") == "15. März 2024"


def test_arabic_date_with_arabic_indic_digits():
    assert format_letter_date(D, "ar", digits="arab") == "١٥ مارس ٢٠٢٤"


def test_persian_date_with_persian_digits():
    text = format_letter_date(D, "fa", digits="arabext")
    assert "۱۵" in text and "۲۰۲۴" in text
    assert not any(ch in "0123456789٠١٢٣٤٥٦٧٨٩" for ch in text)


def test_unknown_language_falls_back_to_english():
    assert format_letter_date(D, "xx") == "March 15, 2024"


def test_money_in_english():
    assert format_money(Decimal("1234.5"), "USD", "en") == "$1,234.50"


def test_money_in_arabic_uses_arabic_separators_with_arabic_indic_digits():
    text = format_money(Decimal("1234.5"), "EUR", "ar", digits="arab")
    assert "١٬٢٣٤٫٥٠" in text and "€" in text


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
