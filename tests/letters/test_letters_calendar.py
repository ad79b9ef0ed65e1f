"""Arabic letters dated in the Hijri (Umm al-Qura) calendar, or in both calendars, when the template asks."""

from __future__ import annotations

import datetime

import pytest
from letterkit import MM, arabic, open_pdf, persian, visual_lines

from letters import LAYOUTS, format_letter_date, render_letter

A4 = LAYOUTS["A4"]
NB = "\u00a0"


def _words(text: str) -> list[str]:
    return text.replace(NB, " ").split(" ")


def test_a_known_umm_al_qura_date():
    # 11 March 2024 was 1 Ramadan 1445 and 7 July 2024 was 1 Muharram 1446 in the Umm al-Qura calendar.
    assert format_letter_date(datetime.date(2024, 3, 11), "ar", "arab", "hijri") == NB.join(["١", "رمضان", "١٤٤٥", "هـ"])
    assert _words(format_letter_date(datetime.date(2024, 7, 7), "ar_SA", "latn", "hijri")) == ["1", "محرم", "1446", "هـ"]
    # Two-word month names stay whole: 23 November 2026 is 13 Jumada al-Akhirah 1448.
    assert _words(format_letter_date(datetime.date(2026, 11, 23), "ar", "arab", "hijri")) == \
        ["١٣", "جمادى", "الآخرة", "١٤٤٨", "هـ"]


def test_a_hijri_date_is_one_unit_on_a_line():
    text = format_letter_date(datetime.date(2024, 3, 11), "ar", "arab", "hijri")
    assert " " not in text


def test_both_calendars_hijri_first_then_the_gregorian_date():
    text = format_letter_date(datetime.date(2026, 11, 23), "ar", "arab", "both")
    assert text.replace(NB, " ") == "١٣ جمادى الآخرة ١٤٤٨ هـ الموافق ٢٣ نوفمبر ٢٠٢٦ م"
    # Each date is one unit; a line may end only around "الموافق".
    assert [part for part in text.split(" ")] == [NB.join(["١٣", "جمادى", "الآخرة", "١٤٤٨", "هـ"]), "الموافق",
                                                  NB.join(["٢٣", "نوفمبر", "٢٠٢٦", "م"])]


def test_gregorian_is_the_default_and_persian_stays_solar_hijri():
    d = datetime.date(2024, 3, 11)
    assert format_letter_date(d, "ar", "arab") == format_letter_date(d, "ar", "arab", "gregorian") == \
        NB.join(["١١", "مارس", "٢٠٢٤"])
    assert format_letter_date(d, "fa", "arabext").replace(NB, " ") == "۲۱ اسفند ۱۴۰۲"


@pytest.mark.parametrize("language, calendar", [("en", "hijri"), ("fa", "both"), ("ar", "julian"), ("ar", "islamic")])
def test_a_calendar_the_language_does_not_use_is_refused(language, calendar):
    with pytest.raises(ValueError, match="calendar"):
        format_letter_date(datetime.date(2024, 3, 11), language, "latn", calendar)


def test_a_date_outside_the_umm_al_qura_tables_is_refused_not_misprinted():
    with pytest.raises(ValueError, match="calendar"):
        format_letter_date(datetime.date(2090, 1, 1), "ar", "arab", "hijri")


def _date_line(pdf: bytes):
    page = open_pdf(pdf).pages[0]
    return next(ln for ln in visual_lines(page, top=A4.date_top * MM - 5, bottom=A4.date_top * MM + 20,
                                          left=A4.page_width * MM / 2))


def test_the_printed_letter_carries_the_hijri_date():
    line = _date_line(render_letter(arabic(letter_date=datetime.date(2024, 3, 11), digits="arab", calendar="hijri")))
    # Read right to left: day, month, year, then the "هـ" suffix.
    logical = [w.logical if not w.text.isdigit() else w.text for w in reversed(line.words)]
    assert logical == ["١", "رمضان", "١٤٤٥", "هـ"]
    assert line.x1 == pytest.approx((A4.page_width - A4.margin_right) * MM, abs=1.5)


def test_the_printed_letter_carries_both_dates_on_one_line():
    line = _date_line(render_letter(arabic(letter_date=datetime.date(2026, 11, 23), digits="arab", calendar="both")))
    logical = [w.logical if not w.text.isdigit() else w.text for w in reversed(line.words)]
    assert logical == ["١٣", "جمادى", "الآخرة", "١٤٤٨", "هـ", "الموافق", "٢٣", "نوفمبر", "٢٠٢٦", "م"]
    # Within the text column, clear of the address window on the left.
    assert line.x0 > (A4.window_left + A4.window_width) * MM
    assert line.x1 <= (A4.page_width - A4.margin_right) * MM + 1.0


def test_persian_letter_ignores_nothing_silently():
    # A Persian letter asked for the Hijri calendar is refused rather than dated in another calendar.
    with pytest.raises(ValueError, match="calendar"):
        render_letter(persian(calendar="hijri"))
