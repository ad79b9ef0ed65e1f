"""Arabic and Persian letters are shaped, ordered right to left line by line, and right-aligned."""

from __future__ import annotations

import re

import pytest
from letterkit import MM, arabic, english, open_pdf, persian, visual_lines

from letters import LAYOUTS, render_letter

_PRESENTATION = re.compile("[\ufb50-\ufdff\ufe70-\ufefc]")
_BASE_ARABIC_LETTER = re.compile("[\u0621-\u064a\u067e\u0686\u0698\u06a9\u06af\u06cc]")
_HARAKAT = re.compile("[\u064b-\u0652]")

A4 = LAYOUTS["A4"]
RIGHT_MARGIN = (A4.page_width - A4.margin_right) * MM


def _body_lines(page):
    return visual_lines(page, top=A4.body_top * MM, bottom=(A4.page_height - A4.margin_bottom) * MM)


def _paragraph_lines(lines):
    """Body lines grouped into paragraphs by the larger gap between them."""
    paragraphs, current = [], [lines[0]]
    pitch = min(b.baseline - a.baseline for a, b in zip(lines, lines[1:]))
    for prev, line in zip(lines, lines[1:]):
        if line.baseline - prev.baseline > pitch * 1.3:
            paragraphs.append(current)
            current = []
        current.append(line)
    paragraphs.append(current)
    return paragraphs


@pytest.fixture(scope="module")
def arabic_page():
    """Page 1 of the sample Arabic letter."""
    return open_pdf(render_letter(arabic())).pages[0]


@pytest.fixture(scope="module")
def persian_page():
    """Page 1 of the sample Persian letter."""
    return open_pdf(render_letter(persian())).pages[0]


def test_arabic_sentence_starts_at_the_right(arabic_page):
    first = _body_lines(arabic_page)[0]
    assert first.words[-1].logical == "شكرًا"
    assert first.words[-2].logical == "لشرائك"
    # Reading the line right to left gives the sentence in typed order.
    typed = [w.text if w.text.isascii() else w.logical for w in reversed(first.words)]
    # Reading right to left, the embedded Latin run is met as a block: Pro 15 iPhone.
    assert typed[:7] == ["شكرًا", "لشرائك", "Pro", "15", "iPhone", "رقم", "الطلب"]


def test_latin_product_name_and_numbers_keep_left_to_right_order_inside_arabic(arabic_page):
    first = _body_lines(arabic_page)[0]
    texts = [w.text for w in first.words]
    assert "iPhone" in texts, texts
    i = texts.index("iPhone")
    assert texts[i:i + 3] == ["iPhone", "15", "Pro"]
    assert "51" not in texts
    # The full stop after the order number goes to its left, the digits stay in order.
    assert ".12345" in texts
    # The product name stands to the left of "لشرائك" (after it in reading order) and to the
    # right of "رقم" (before it in reading order).
    by_logical = {w.logical: w for w in first.words}
    assert by_logical["رقم"].x1 < first.words[i].x0
    assert first.words[i + 2].x1 < by_logical["لشرائك"].x0


def test_arabic_text_is_shaped_into_joined_forms(arabic_page):
    body = _body_lines(arabic_page)
    letters = "".join(w.text for ln in body for w in ln.words if _PRESENTATION.search(w.text))
    assert len(letters) > 100
    word = next(w for w in body[0].words if w.logical == "لشرائك")
    # ل initial, ش medial, ر final, ا isolated (its own glyph), ئ initial, ك final.
    assert [hex(ord(c)) for c in word.text[::-1]] == ["0xfedf", "0xfeb8", "0xfeae", "0x627", "0xfe8b", "0xfeda"]
    # Every letter that joins on both sides inside a word is drawn in a joined form, never isolated.
    for ln in body:
        for w in ln.words:
            inner = "".join(ch for ch in w.text if ch.isalpha())[1:-1]
            assert not re.search("[بتثجحخسشصضطظعغفقكلمنهي]", inner), (w.logical, w.text)


def test_harakat_are_kept(arabic_page):
    words = {w.logical: w for ln in _body_lines(arabic_page) for w in ln.words}
    katab = words["كَتَبَ"]
    assert katab.text.count("\u064e") == 3       # three fathas
    assert "\u0650" in words["بِعنايةٍ."].text     # kasra
    assert "\u064d" in words["بِعنايةٍ."].text     # kasratan


def test_arabic_paragraphs_are_right_aligned(arabic_page):
    paragraphs = _paragraph_lines(_body_lines(arabic_page))
    first = paragraphs[0]
    assert len(first) >= 2, "the sample paragraph should wrap"
    for line in first:
        assert line.x1 == pytest.approx(RIGHT_MARGIN, abs=1.5)
    # A wrapped line's left edge is ragged, not flush with the left margin.
    assert first[-1].x0 > A4.margin_left * MM + 20


def test_arabic_date_address_and_closing_are_right_aligned(arabic_page):
    lines = visual_lines(arabic_page)
    date = next(ln for ln in lines if "٢٠٢٤" in ln.text or "2024" in ln.text)
    assert date.x1 == pytest.approx(RIGHT_MARGIN, abs=1.5)
    closing = next(ln for ln in lines if ln.words[-1].logical == "مع")
    assert closing.x1 == pytest.approx(RIGHT_MARGIN, abs=1.5)
    signer = next(ln for ln in lines if ln.text == "Max Mustermann")
    assert signer.x1 == pytest.approx(RIGHT_MARGIN, abs=1.5)


def test_persian_sentence_starts_at_the_right_with_persian_letters_shaped(persian_page):
    body = _body_lines(persian_page)
    first = body[0]
    assert first.words[-1].logical == "پژوهش"
    glyphs = "".join(w.text for ln in body for w in ln.words)
    # پ چ ژ ک گ ی in their contextual forms (Arabic Presentation Forms-A).
    assert re.search("[\ufb56-\ufb59]", glyphs)   # peh
    assert re.search("[\ufb7a-\ufb7d]", glyphs)   # tcheh
    assert re.search("[\ufb8a-\ufb8b]", glyphs)   # jeh
    assert re.search("[\ufb8e-\ufb91]", glyphs)   # keheh
    assert re.search("[\ufb92-\ufb95]", glyphs)   # gaf
    assert re.search("[\ufbfc-\ufbff]", glyphs)   # farsi yeh
    # The zero-width non-joiner in "می‌دهد" is not drawn, but it stops the joining: yeh takes
    # its final form and dal its isolated form instead of running on.
    assert "\u200c" not in glyphs
    word = next(w for ln in body for w in ln.words if w.logical == "میدهد")
    assert [hex(ord(c)) for c in word.text[::-1]] == ["0xfee3", "0xfbfd", "0x62f", "0xfeeb", "0xfeaa"]


def test_persian_paragraph_is_right_aligned_and_latin_inside_reads_left_to_right(persian_page):
    body = _body_lines(persian_page)
    assert len(body) >= 2
    for line in body:
        assert line.x1 == pytest.approx(RIGHT_MARGIN, abs=1.5)
    texts = [w.text for ln in body for w in ln.words]
    assert "4567" in texts and "7654" not in texts
    i = texts.index("Galaxy")
    assert texts[i + 1] == "S24"


def test_persian_digits_in_the_date_when_asked(persian_page):
    page = open_pdf(render_letter(persian(digits="arabext"))).pages[0]
    date = next(ln for ln in visual_lines(page, top=A4.date_top * MM - 5, bottom=A4.date_top * MM + 20,
                                          left=A4.page_width * MM / 2))
    # 15 March 2024 is 25 Esfand 1402 in the Solar Hijri calendar Iranian readers use.
    assert [w.text for w in date.words if w.text.isdigit()] == ["۱۴۰۲", "۲۵"]
    assert [w.logical for w in date.words if not w.text.isdigit()] == ["اسفند"]
    assert not re.search("[0-9]", date.text)
    # Default digits stay Latin.
    latin = visual_lines(persian_page, top=A4.date_top * MM - 5, bottom=A4.date_top * MM + 20,
                         left=A4.page_width * MM / 2)[0]
    assert "1402" in latin.text


def test_arabic_indic_digits_in_the_date_when_asked():
    page = open_pdf(render_letter(arabic(digits="arab"))).pages[0]
    lines = visual_lines(page, top=A4.date_top * MM - 5, bottom=A4.date_top * MM + 20,
                         left=A4.page_width * MM / 2)
    assert "٢٠٢٤" in lines[0].text and "١٥" in lines[0].text


def test_arabic_name_inside_an_english_letter_is_shaped_and_ordered():
    page = open_pdf(render_letter(english(body="Dear محمد أحمد, thank you for your order."))).pages[0]
    first = _body_lines(page)[0]
    texts = [w.text for w in first.words]
    assert texts[0] == "Dear"
    # The two Arabic words keep their RTL order: "محمد" (first typed) stands to the right.
    arabic_words = [w for w in first.words if _PRESENTATION.search(w.text)]
    assert [w.logical.strip(",") for w in arabic_words] == ["أحمد", "محمد"]
    assert first.x0 == pytest.approx(A4.margin_left * MM, abs=1.0)
