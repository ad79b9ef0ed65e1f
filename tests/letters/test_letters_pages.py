"""Page numbering, multi-page flow, signature, QR code and embedded fonts of a single letter."""

from __future__ import annotations

import re

import pytest
from letterkit import MM, arabic, english, long_body, open_pdf, page_text, persian, visual_lines

from letters import LAYOUTS, render_letter
from letters.qr import qr_matrix

SUBSET = re.compile(r"^[A-Z]{6}\+")


def test_render_letter_returns_a_complete_pdf():
    data = render_letter(english())
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert len(open_pdf(data).pages) == 1


def test_one_page_letter_has_no_page_number_but_keeps_its_reference():
    text = page_text(open_pdf(render_letter(english())).pages[0])
    assert "Page" not in text
    assert "L-000123" in text


def test_long_letter_flows_onto_more_pages_numbered_page_x_of_y():
    pdf = open_pdf(render_letter(english(body=long_body(9))))
    total = len(pdf.pages)
    assert total >= 2
    for number, page in enumerate(pdf.pages, start=1):
        text = page_text(page)
        assert f"Page {number} of {total}" in text
        assert "L-000123" in text
    # Body text never runs into the footer area.
    lay = LAYOUTS["A4"]
    for page in pdf.pages:
        body_chars = [c for c in page.chars if c["size"] > 9]
        assert max(c["bottom"] for c in body_chars) <= (lay.page_height - lay.margin_bottom) * MM + 1
    # The closing and signer come last, on the last page.
    assert "Max Mustermann" in page_text(pdf.pages[-1])
    assert "Max Mustermann" not in page_text(pdf.pages[0])


def test_continuation_pages_start_at_the_top_margin():
    pdf = open_pdf(render_letter(english(body=long_body(9))))
    lay = LAYOUTS["A4"]
    lines = visual_lines(pdf.pages[1], top=lay.margin_top * MM)
    assert lines[0].baseline == pytest.approx(lay.margin_top * MM + 10.5, abs=1.0)


def test_page_two_carries_a_header_with_recipient_date_and_page_number():
    pdf = open_pdf(render_letter(english(body=long_body(9))))
    lay = LAYOUTS["A4"]
    assert len(pdf.pages) == 2
    assert not visual_lines(pdf.pages[0], bottom=lay.letterhead_top * MM - 1)
    header = visual_lines(pdf.pages[1], bottom=lay.margin_top * MM - 2)
    assert len(header) == 1
    assert header[0].text.startswith("Jane Doe")
    assert header[0].text.endswith("March 15, 2024 · Page 2 of 2")
    assert header[0].words[0].x0 == pytest.approx(lay.margin_left * MM, abs=1.0)
    assert header[0].x1 == pytest.approx((lay.page_width - lay.margin_right) * MM, abs=1.0)


def test_arabic_page_two_header_runs_right_to_left():
    body = long_body(8, "نحن هنا لمساعدتك في أي وقت تحتاج فيه إلى دعم. ")
    pdf = open_pdf(render_letter(arabic(body=body, digits="arab")))
    lay = LAYOUTS["A4"]
    header = visual_lines(pdf.pages[1], bottom=lay.margin_top * MM - 2)[0]
    # The recipient stands at the right margin, the date and page label at the left.
    assert [w.logical for w in header.words[-2:]] == ["أحمد", "محمد"]
    assert header.x1 == pytest.approx((lay.page_width - lay.margin_right) * MM, abs=1.0)
    assert header.x0 == pytest.approx(lay.margin_left * MM, abs=1.0)
    assert "٢٠٢٤" in header.text and "صفحة" in [w.logical for w in header.words]


def test_arabic_multi_page_letter_numbers_pages_in_arabic_with_arabic_indic_digits():
    body = long_body(8, "نحن هنا لمساعدتك في أي وقت تحتاج فيه إلى دعم. ")
    pdf = open_pdf(render_letter(arabic(body=body, digits="arab")))
    total = len(pdf.pages)
    assert total >= 2
    digits = "٠١٢٣٤٥٦٧٨٩"
    lay = LAYOUTS["A4"]
    for number, page in enumerate(pdf.pages, start=1):
        footer = visual_lines(page, top=(lay.page_height - lay.footer_baseline_from_bottom) * MM - 3)
        words = [w for ln in footer for w in ln.words]
        label = [w for w in words if w.x1 < lay.page_width * MM / 2]   # mirrored: label at left
        # "صفحة ١ من ٢" read right to left.
        assert [w.logical if not w.text[0] in digits else w.text for w in reversed(label)] == \
            ["صفحة", digits[number], "من", digits[total]]


def test_handwriting_signature_uses_the_script_font_above_the_typed_name():
    page = open_pdf(render_letter(english(handwriting_signature=True))).pages[0]
    script = [c for c in page.chars if "Kristi" in c["fontname"]]
    assert "".join(c["text"] for c in script) == "Max Mustermann"
    typed = [ln for ln in visual_lines(page) if ln.text == "Max Mustermann"]
    assert len(typed) == 2   # signature and typed name
    assert typed[0].words[0].bottom < typed[1].words[0].top


def test_without_handwriting_the_name_is_typed_once_under_a_signing_space():
    page = open_pdf(render_letter(english(handwriting_signature=False))).pages[0]
    assert not [c for c in page.chars if "Kristi" in c["fontname"]]
    lines = visual_lines(page)
    closing = next(ln for ln in lines if ln.text == "Warm regards,")
    name = next(ln for ln in lines if ln.text == "Max Mustermann")
    assert name.baseline - closing.baseline > 12 * MM   # room to sign by hand


def test_fonts_are_embedded_subsets_only():
    for content in (english(handwriting_signature=True), arabic(), persian()):
        pdf = open_pdf(render_letter(content))
        names = {c["fontname"] for page in pdf.pages for c in page.chars}
        assert names and all(SUBSET.match(n) for n in names), names
        for page in pdf.pages:
            fonts = page.page_obj.resources["Font"]
            fonts = fonts.resolve() if hasattr(fonts, "resolve") else fonts
            for ref in fonts.values():
                font = ref.resolve()
                descriptor = font["FontDescriptor"].resolve()
                assert "FontFile2" in descriptor, font["BaseFont"]      # TrueType program embedded
                assert SUBSET.match(font["BaseFont"].name)
    arabic_fonts = {c["fontname"].split("+")[1] for c in open_pdf(render_letter(arabic())).chars}
    # One typographic voice: Latin runs in Noto Serif, designed to sit with Noto Naskh Arabic.
    assert {"NotoNaskhArabic-Regular", "NotoSerif-Regular"} == arabic_fonts
    persian_fonts = {c["fontname"].split("+")[1] for c in open_pdf(render_letter(persian())).chars}
    assert "Vazirmatn-Regular" in persian_fonts


def test_subsetting_keeps_the_file_small():
    # Noto Sans alone is 500 KB; a subset of the glyphs used is a small fraction of it.
    assert len(render_letter(english())) < 120_000


def _qr_modules(page, x0, top, size, n):
    """Read the QR module grid back from the rectangles drawn in the given square."""
    module = size / n
    grid = [[False] * n for _ in range(n)]
    for rect in page.rects:
        if rect["x0"] < x0 - 1 or rect["x1"] > x0 + size + 1 or rect["top"] < top - 1 or rect["bottom"] > top + size + 1:
            continue
        r = round((rect["top"] - top) / module)
        c0 = round((rect["x0"] - x0) / module)
        c1 = round((rect["x1"] - x0) / module)
        for c in range(c0, c1):
            grid[r][c] = True
    return grid


@pytest.mark.parametrize("factory", [english, arabic])
def test_qr_code_encodes_the_link_and_the_link_is_printed_beneath(factory):
    url = "https://shop.example/survey/7f3a9c?l=L-000123"
    page = open_pdf(render_letter(factory(qr_url=url))).pages[0]
    rects = page.rects
    assert rects, "no QR code drawn"
    x0 = min(r["x0"] for r in rects)
    x1 = max(r["x1"] for r in rects)
    top = min(r["top"] for r in rects)
    bottom = max(r["bottom"] for r in rects)
    size = x1 - x0
    assert size == pytest.approx(bottom - top, abs=0.5) and size == pytest.approx(22 * MM, abs=0.5)
    expected = [list(row) for row in qr_matrix(url)]
    assert _qr_modules(page, x0, top, size, len(expected)) == expected
    # The URL is printed in small type right under the code.
    # The code sits on the side opposite the signature: right for English, left for Arabic.
    same_side = (lambda c: c["x0"] > page.width / 2) if factory is english else (lambda c: c["x1"] < page.width / 2)
    under = [c for c in page.chars if bottom < c["top"] < bottom + 15 and same_side(c)]
    assert "".join(c["text"] for c in under) == url
    assert max(c["size"] for c in under) < 8


def test_no_qr_code_without_a_link():
    assert not open_pdf(render_letter(english())).pages[0].rects


# --- US Letter: text off the folds, the date out of the window (issue 13) -----------------------------

def test_us_letter_keeps_the_greeting_and_body_off_the_fold_lines():
    from letterkit import english as en

    lay = LAYOUTS["LETTER"]
    body = "Dear Amelia,\n\n" + long_body(6, "Typography with descenders: gyp jqy. ")
    pdf = open_pdf(render_letter(en(paper="LETTER", body=body)))
    for page in pdf.pages:
        for fold in lay.fold_marks:
            y = fold * MM
            crossing = [c["text"] for c in page.chars if c["top"] - 0.5 < y < c["bottom"] + 0.5 and c["text"].strip()
                        and c["top"] > lay.body_top * MM - 20]
            # pdfplumber's boxes are the font's full height: nothing drawn straddles the fold.
            assert not crossing, (fold, crossing[:10])


def test_us_letter_date_stays_out_of_the_window_band_and_the_return_line_clear_of_its_top_edge():
    from letterkit import english as en

    lay = LAYOUTS["LETTER"]
    page = open_pdf(render_letter(en(paper="LETTER"))).pages[0]
    date = next(ln for ln in visual_lines(page) if "2024" in ln.text and "March" in ln.text)
    # The window shows the band 2.04 to 3.17 in from the top; a sliding sheet moves it sideways, never the date.
    assert date.baseline - 12 > lay.window_bottom * MM
    ret = [c for c in page.chars if lay.window_top * MM - 3 < c["top"] < (lay.window_top + 8) * MM
           and c["x0"] < lay.window_right * MM]
    assert ret
    cap_top = min(c["matrix"][5] for c in ret)
    # The return line's capitals start at least 2 mm below the window's top edge.
    assert page.height - cap_top - 0.72 * min(c["size"] for c in ret) >= lay.window_top * MM + 2 * MM


# --- The signer in the reader's script (issue 13) ------------------------------------------------------

def test_arabic_script_signer_is_written_in_the_ruqaa_hand_and_a_latin_one_in_kristi():
    from letterkit import persian as fa

    page = open_pdf(render_letter(fa(signer_name="سارا احمدی", signer_title="مدیر خدمات مشتریان",
                                     handwriting_signature=True))).pages[0]
    fonts = {c["fontname"].split("+")[1] for c in page.chars if c["size"] > 15}
    assert fonts == {"ArefRuqaa-Regular"}
    typed = [ln for ln in visual_lines(page) if [w.logical for w in ln.words] == ["احمدی", "سارا"]]
    assert typed, "the typed name in Arabic script under the signature"
    page = open_pdf(render_letter(english(handwriting_signature=True))).pages[0]
    assert {c["fontname"].split("+")[1] for c in page.chars if c["size"] > 15} == {"Kristi"}
