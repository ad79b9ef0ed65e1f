"""Dates, numbers and money as each staff language's readers expect them (retention/formatting.py)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from retention.formatting import digits_for, format_moment, format_money, format_number, zone_label

NOWRUZ = dt.datetime(2026, 3, 21, 9, 30, tzinfo=dt.timezone.utc)


def test_persian_dates_are_solar_hijri_with_persian_digits():
    # Nowruz 2026 is 1 Farvardin 1405; 09:30 UTC is 13:00 in Tehran.
    assert format_moment(NOWRUZ, "fa", "arabext", "Asia/Tehran", "date") == "۱ فروردین ۱۴۰۵"
    assert format_moment(NOWRUZ, "fa", "arabext", "Asia/Tehran", "time") == "۱۳:۰۰"
    assert "شنبه" in format_moment(NOWRUZ, "fa", "arabext", "Asia/Tehran", "short")


def test_the_persian_day_follows_the_wall_clock_of_the_zone():
    late = dt.datetime(2026, 3, 20, 21, 0, tzinfo=dt.timezone.utc)  # 00:30 on Nowruz in Tehran
    assert format_moment(late, "fa", "arabext", "Asia/Tehran", "date") == "۱ فروردین ۱۴۰۵"
    assert format_moment(late, "fa", "arabext", "UTC", "date") == "۲۹ اسفند ۱۴۰۴"


def test_arabic_dates_are_gregorian_with_arabic_month_names_in_the_readers_digits():
    assert format_moment(NOWRUZ, "ar", "arab", "UTC", "date") == "٢١ مارس ٢٠٢٦"
    assert format_moment(NOWRUZ, "ar", "latn", "UTC", "date") == "21 مارس 2026"


def test_english_dates():
    assert format_moment(NOWRUZ, "en", "latn", "Europe/London", "short") == "Sat 21 Mar, 09:30"


def test_digits_follow_the_reader_within_what_their_language_offers():
    assert digits_for("ar", None) == "arab" and digits_for("ar", "latn") == "latn"
    assert digits_for("fa", None) == "arabext" and digits_for("en", "arab") == "latn"


def test_numbers_use_the_languages_separators():
    assert format_number(1234.5, "fa", "arabext") == "۱٬۲۳۴٫۵"
    assert format_number(1234.5, "en", "latn") == "1,234.5"


@pytest.mark.parametrize("language, digits", [("ar", "arab"), ("ar", "latn"), ("fa", "arabext"), ("en", "latn")])
def test_an_iranian_price_never_reads_as_another_currency(language, digits):
    text = format_money(Decimal("27258000"), "IRR", language, digits)
    assert "إ." not in text  # Babel's Arabic symbol "ر.إ." reads as the UAE dirham
    assert any(word in text for word in ("ريال إيراني", "ریال", "IRR"))


def test_persian_puts_the_number_before_the_currency():
    text = format_money(Decimal("27258000"), "IRR", "fa", "arabext")
    assert text.startswith("۲۷٬۲۵۸٬۰۰۰") and text.endswith("ریال")


def test_money_keeps_the_currencys_decimals():
    assert format_money(Decimal("649"), "USD", "en", "latn") == "$649.00"
    assert format_money(Decimal("649.5"), "GBP", "en", "latn") == "£649.50"


def test_zone_labels_say_whose_clock_in_the_readers_language():
    assert zone_label("Asia/Tehran", "fa") == "وقت ایران"
    assert zone_label("Asia/Tehran", "en") == "Iran Time"
    assert zone_label("Not/AZone", "en") == "Not/AZone"
    assert zone_label("UTC", "en") == "UTC" and "Unknown" not in zone_label("Etc/UTC", "en")
    assert zone_label("UTC", "fa") == "وقت جهانی (UTC)"
