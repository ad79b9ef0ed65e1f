"""HarfBuzz shaping read back from the PDF and looked at on the rendered page: marks where the font puts
them, mirrored brackets and quotes in right-to-left text, numbers and names never broken across lines."""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest
from letterkit import MM, arabic, english, open_pdf, persian, visual_lines

from letters import LAYOUTS, render_letter
from letters.textlayout import TextStyle, nobreak, wrap_text
from letters.typefaces import stack_for_language

A4 = LAYOUTS["A4"]
BODY_TOP = A4.body_top * MM
SCALE = 8  # 576 dpi: a mark and the dot under it are several pixels apart when they are apart at all


def _body_chars(pdf_bytes: bytes):
    page = open_pdf(pdf_bytes).pages[0]
    return page, [c for c in page.chars if BODY_TOP < c["top"] < BODY_TOP + 40]


def _ink_bands(pdf_bytes: bytes, page, base: dict) -> list[tuple[int, int]]:
    """Vertical runs of ink (top, bottom in pixels) in the columns of one drawn glyph, from the line's
    top down to its baseline: what a reader sees stacked above and on that letter."""
    doc = pdfium.PdfDocument(pdf_bytes)
    pg = doc[0]
    width, height = pg.get_size()
    left, right = base["x0"] + 0.25 * (base["x1"] - base["x0"]), base["x1"] - 0.25 * (base["x1"] - base["x0"])
    baseline, size = base["matrix"][5], base["size"]
    # From well above the marks down past the bowls below the baseline (PDF y runs upwards).
    image = pg.render(scale=SCALE, crop=(left, baseline - 0.5 * size, width - right, height - (baseline + 1.5 * size))
                      ).to_pil().convert("L")
    w, h = image.size
    pixels = image.load()
    rows = [any(pixels[x, y] < 140 for x in range(w)) for y in range(h)]
    bands, start = [], None
    for y, ink in enumerate(rows + [False]):
        if ink and start is None:
            start = y
        elif not ink and start is not None:
            bands.append((start, y - 1))
            start = None
    doc.close()
    return bands


def test_tanween_sits_above_the_alef_where_the_font_places_it():
    pdf = render_letter(arabic(body="شكراً أيضاً وقتاً"))
    page, chars = _body_chars(pdf)
    fathatan = [c for c in chars if c["text"] == "\u064b"]
    assert len(fathatan) == 3
    for mark in fathatan:
        alef = next(c for c in chars if c["text"] in "\u0627\ufe8e" and c["x0"] - 1 <= mark["x0"] <= c["x1"] + 1)
        # HarfBuzz's mark positioning raised it (the PDF text rise), above the alef's top.
        assert mark["top"] < alef["top"] - 2
        # On the rendered page: the tanween is ink of its own, with white between it and the alef.
        bands = _ink_bands(pdf, page, alef)
        assert len(bands) >= 2, bands
        assert bands[-1][0] - bands[-2][1] >= 2, bands


def test_fatha_on_noon_clears_the_dot():
    pdf = render_letter(arabic(body="نَ"))
    page, chars = _body_chars(pdf)
    noon = next(c for c in chars if c["text"] == "\u0646")
    # Fatha, the dot, the bowl: three marks of ink one above the other, none touching.
    bands = _ink_bands(pdf, page, noon)
    assert len(bands) >= 3, bands


def _sorted_line(chars):
    return "".join(c["text"] for c in sorted(chars, key=lambda c: c["x0"]))


def test_brackets_and_guillemets_are_mirrored_in_right_to_left_text():
    pdf = render_letter(persian(body="کتاب «راهنما» (نسخهٔ ۲) [پیوست]"))
    _, chars = _body_chars(pdf)
    visual = _sorted_line(chars)
    # Read left to right as drawn: every pair opens on the left and closes on the right.
    for opening, closing in ("()", "[]", "«»"):
        assert visual.index(opening) < visual.index(closing), visual
    # The pairs enclose their words: "(۲ ...)" reads, right to left, as "(نسخهٔ ۲)".
    paren = visual[visual.index("("):visual.index(")") + 1]
    assert "۲" in paren and len(paren) > 4


def test_brackets_in_an_arabic_letter_come_from_the_latin_face_and_are_still_mirrored():
    pdf = render_letter(arabic(body="كتاب (نسخة ٢) جديد"))
    _, chars = _body_chars(pdf)
    ordered = sorted(chars, key=lambda c: c["x0"])
    opening = next(i for i, c in enumerate(ordered) if c["text"] == "(")
    closing = next(i for i, c in enumerate(ordered) if c["text"] == ")")
    assert opening < closing
    assert ordered[opening + 1]["text"] == "٢"   # the number stands just inside the left bracket


@pytest.mark.parametrize("rtl, lang", [(False, "en"), (True, "ar"), (True, "fa")])
def test_phone_numbers_never_break_across_lines(rtl, lang):
    style = TextStyle(stack_for_language(lang), 11, 15, lang)
    filler = {"en": "Call me on", "ar": "اتصل بي على الرقم", "fa": "با من تماس بگیرید"}[lang]
    for words in range(1, 14):
        text = " ".join([filler] * words) + " \u2066+44 20 7946 0000\u2069 " + filler
        lines = wrap_text(text, style, 90 * MM, rtl)
        holding = [ln for ln in lines if "7946" in ln.text]
        assert len(holding) == 1 and "+44\u00a020\u00a07946\u00a00000" in holding[0].text.replace(" ", "\u00a0"), \
            [ln.text for ln in lines]


def test_marked_product_names_and_amounts_stay_on_one_line():
    style = TextStyle(stack_for_language("en"), 10.5, 15)
    for words in range(1, 20):
        text = "word " * words + f"your {nobreak('Water filter set')} for {nobreak('£1,299.00')} arrived."
        lines = [ln.text.replace("\u00a0", " ") for ln in wrap_text(text, style, 60 * MM, False)]
        assert any("Water filter set" in ln for ln in lines), lines
        assert not any(ln.endswith("Water") or ln.endswith("filter") for ln in lines), lines


def test_a_wrapped_right_to_left_line_continues_at_the_right_margin():
    body = "نحن هنا لمساعدتك في أي وقت. " * 6 + "\u2066+44 20 7946 0000\u2069"
    page = open_pdf(render_letter(arabic(body=body))).pages[0]
    lines = visual_lines(page, top=BODY_TOP, bottom=(A4.page_height - A4.margin_bottom) * MM)
    phone = [ln for ln in lines if "7946" in ln.text]
    assert len(phone) == 1
    assert "+44 20 7946 0000" in phone[0].text.replace("\u00a0", " ")
    assert phone[0].x1 == pytest.approx((A4.page_width - A4.margin_right) * MM, abs=1.5)


def test_shaped_text_reads_back_as_typed():
    """Glyphs without a character of their own (contextual alternates) carry their text in the PDF."""
    page = open_pdf(render_letter(persian(body="پژوهش گفتگو می‌گذرد"))).pages[0]
    text = page.extract_text()
    assert not any("\ue000" <= ch <= "\uf8ff" for ch in text), [hex(ord(c)) for c in text if c >= "\ue000"]


def test_english_letters_stay_on_the_fast_path_with_no_shaping():
    from letters.render import compose

    letter = compose(english())
    runs = [r for p in letter.pages for t in p.texts for r in t.line.runs]
    assert runs and all(type(r[1]) is str for r in runs)
