"""The recipient address shows through the envelope window and follows the destination's order."""

from __future__ import annotations

import pytest
from letterkit import MM, US_ADDRESS, DE_ADDRESS, english, open_pdf, persian, visual_lines

from letters import LAYOUTS, Address, render_letter
from letters.addressing import address_lines


def _window_box(paper: str) -> tuple[float, float, float, float]:
    lay = LAYOUTS[paper]
    return (lay.window_left * MM, lay.window_top * MM, lay.window_right * MM, lay.window_bottom * MM)


def _chars_of(page, text: str) -> list[dict]:
    """The chars of the first occurrence of ``text`` (Latin) on the page."""
    chars = page.chars
    joined = "".join(c["text"] for c in chars)
    start = joined.index(text)
    return chars[start:start + len(text)]


def _window_lines(page, paper: str) -> list[str]:
    left, top, right, bottom = _window_box(paper)
    lay = LAYOUTS[paper]
    below_return_line = (lay.window_top + lay.return_line_height) * MM
    return [ln.text for ln in visual_lines(page, below_return_line, bottom, left, right)]


@pytest.mark.parametrize("paper", ["A4", "LETTER"])
def test_recipient_block_sits_inside_the_envelope_window(paper):
    pdf = open_pdf(render_letter(english(paper=paper, recipient_name="Jonathan Q. Addressee")))
    page = pdf.pages[0]
    left, top, right, bottom = _window_box(paper)
    lay = LAYOUTS[paper]
    assert page.width == pytest.approx(lay.page_width * MM, abs=0.5)
    assert page.height == pytest.approx(lay.page_height * MM, abs=0.5)
    for text in ("Jonathan Q. Addressee", "1600 Amphitheatre Pkwy", "MOUNTAIN VIEW, CA 94043", "UNITED STATES"):
        for ch in _chars_of(page, text):
            assert left <= ch["x0"] and ch["x1"] <= right, (text, ch["x0"], ch["x1"])
            assert top <= ch["top"] and ch["bottom"] <= bottom, (text, ch["top"], ch["bottom"])
    # Nothing else of the letter (body, date, letterhead) leaks into the window.
    inside = [c for c in page.chars
              if c["x0"] < right and c["x1"] > left and c["bottom"] > top and c["top"] < bottom]
    window_text = "".join(c["text"] for c in inside)
    assert "Dear" not in window_text and "2024" not in window_text


@pytest.mark.parametrize("paper", ["A4", "LETTER"])
def test_return_address_line_is_small_and_above_the_recipient(paper):
    page = open_pdf(render_letter(english(paper=paper))).pages[0]
    left, top, right, bottom = _window_box(paper)
    ret = _chars_of(page, "Acme Shop GmbH · Hauptstraße 5")
    name = _chars_of(page, "Jane Doe")
    assert all(left <= c["x0"] and c["x1"] <= right and c["top"] >= top for c in ret)
    assert max(c["bottom"] for c in ret) < min(c["top"] for c in name)
    assert max(c["size"] for c in ret) < min(c["size"] for c in name)


def test_rtl_letter_right_aligns_the_address_inside_the_window():
    page = open_pdf(render_letter(persian())).pages[0]
    left, top, right, bottom = _window_box("A4")
    lines = visual_lines(page, (LAYOUTS["A4"].window_top + LAYOUTS["A4"].return_line_height) * MM,
                         bottom, left, right)
    assert len(lines) >= 4
    rights = [ln.x1 for ln in lines]
    assert max(rights) - min(rights) < 1.0
    assert all(left <= ln.x0 and ln.x1 <= right for ln in lines)
    assert lines[0].words[-1].logical == "علی"   # name first, its first word at the right


def test_us_address_puts_city_state_and_zip_on_one_line():
    page = open_pdf(render_letter(english(address=US_ADDRESS))).pages[0]
    assert _window_lines(page, "A4") == [
        "Jane Doe", "1600 Amphitheatre Pkwy", "MOUNTAIN VIEW, CA 94043", "UNITED STATES"]


def test_german_address_puts_postal_code_before_the_city():
    page = open_pdf(render_letter(english(recipient_name="Max Muster", address=DE_ADDRESS))).pages[0]
    assert _window_lines(page, "A4") == ["Max Muster", "Invalidenstraße 117", "10115 BERLIN", "GERMANY"]


def test_japanese_address_in_latin_ends_with_the_postal_code():
    address = Address(["1-1 Chiyoda"], "Chiyoda-ku", "Tokyo", "100-0001", "JP")
    page = open_pdf(render_letter(english(recipient_name="Taro Yamada", address=address, paper="LETTER"))).pages[0]
    assert _window_lines(page, "LETTER") == ["Taro Yamada", "1-1 Chiyoda", "Chiyoda-ku, TOKYO", "100-0001", "JAPAN"]


def test_japanese_address_in_japanese_starts_with_the_postal_code_and_ends_with_the_name():
    address = Address(["千代田1-1"], "千代田区", "東京都", "100-0001", "JP")
    assert address_lines("山田太郎", address) == ["〒100-0001", "東京都", "千代田区", "千代田1-1", "山田太郎", "JAPAN"]


def test_iranian_address_lists_province_and_city_before_street_and_postal_code_last():
    address = Address(["خیابان ولیعصر، پلاک 12"], "اصفهان", "اصفهان", "8173645111", "IR")
    assert address_lines("علی رضایی", address) == [
        "علی رضایی", "اصفهان", "خیابان ولیعصر، پلاک 12", "8173645111", "IRAN"]
    address = Address(["خیابان ولیعصر"], "کاشان", "اصفهان", "8715", "IR")
    assert address_lines("علی", address)[:3] == ["علی", "اصفهان", "کاشان"]


@pytest.mark.parametrize("country", ["XX", "", "zz"])
def test_unknown_or_missing_country_still_prints_every_part(country):
    address = Address(["42 Somewhere Rd"], "Springfield", "Outer Region", "12345", country)
    lines = address_lines("Pat Smith", address)
    assert lines[0] == "Pat Smith" and lines[1] == "42 Somewhere Rd"
    joined = " ".join(lines)
    for part in ("12345", "Springfield", "Outer Region"):
        assert part in joined
    page = open_pdf(render_letter(english(address=address))).pages[0]
    assert "Springfield" in (page.extract_text() or "")


# --- Addresses within the window, always (issue 13) ---------------------------------------------------

LONG_ARABIC_STREET = ("مجمع الأعمال التجاري الدولي، برج الواحة الشمالي، الطابق الثامن عشر، "
                      "مكتب رقم 1807، شارع الأمير محمد بن عبدالعزيز")


def _window_chars(page, paper: str) -> list[dict]:
    lay = LAYOUTS[paper]
    field_top = (lay.window_top + lay.return_line_height) * MM
    return [c for c in page.chars if field_top < c["top"] < lay.window_bottom * MM + 5
            and c["x0"] < (lay.window_right + 10) * MM]


@pytest.mark.parametrize("paper", ["A4", "LETTER"])
def test_a_long_arabic_street_wraps_inside_the_window_never_below_8_pt(paper):
    from letterkit import arabic

    content = arabic(paper=paper, address=Address([LONG_ARABIC_STREET], "الرياض", "", "12271", "SA"))
    page = open_pdf(render_letter(content)).pages[0]
    lay = LAYOUTS[paper]
    chars = _window_chars(page, paper)
    assert chars
    assert min(c["size"] for c in chars) >= 8.0
    for c in chars:
        assert lay.window_left * MM <= c["x0"] and c["x1"] <= lay.window_right * MM, c["text"]
        assert c["bottom"] <= lay.window_bottom * MM + 0.5
    # The office number is printed whole, inside the window.
    assert "1807" in "".join(c["text"] for c in sorted(chars, key=lambda c: (round(c["top"]), c["x0"])))


def test_an_address_that_cannot_fit_is_refused_not_printed_half_hidden():
    from letters import AddressDoesNotFit, compose

    lines = [f"{LONG_ARABIC_STREET} {i}" for i in range(8)]
    with pytest.raises(AddressDoesNotFit):
        compose(english(address=Address(lines, "Riyadh", "", "12271", "SA")))


def test_a_batch_takes_out_the_letter_whose_address_cannot_fit_with_the_reason(tmp_path):
    from letters import AddressDoesNotFit, write_batch

    bad = english(reference="L-BAD", address=Address([f"{LONG_ARABIC_STREET} {i}" for i in range(8)], "Riyadh", "",
                                                     "", "SA"))
    errors = []
    entries = write_batch([english(), bad, english()], tmp_path / "b.pdf",
                          on_error=lambda i, exc: errors.append((i, exc)))
    assert [e.index for e in entries] == [0, 2]
    assert [i for i, _ in errors] == [1] and isinstance(errors[0][1], AddressDoesNotFit)


def test_a_wrapped_address_is_listed_as_printed_in_typed_order():
    from letters import compose

    letter = compose(english(address=Address([LONG_ARABIC_STREET], "Riyadh", "", "12271", "SA")))
    assert letter.address_printed[0] == "Jane Doe"
    assert letter.address_printed[-2:] == ["RIYADH 12271", "SAUDI ARABIA"]
    street = letter.address_printed[1:-2]
    assert len(street) >= 2
    assert " ".join(street).replace("\u00a0", " ") == LONG_ARABIC_STREET


def test_the_country_line_is_printed_only_for_international_mail():
    uk = Address(["1 Market Street"], "London", "", "EC1A 1AA", "GB")
    assert address_lines("Amelia Jones", uk, "GB")[-1] == "EC1A\u00a01AA"
    assert address_lines("Amelia Jones", uk, "DE")[-1] == "UNITED KINGDOM"
    page = open_pdf(render_letter(english(address=uk, sender_country="GB"))).pages[0]
    assert "UNITED KINGDOM" not in "\n".join(_window_lines(page, "A4"))
    page = open_pdf(render_letter(english(address=US_ADDRESS, sender_country="GB"))).pages[0]
    assert _window_lines(page, "A4")[-1] == "UNITED STATES"


def test_a_postcode_is_never_split_when_the_line_wraps():
    uk = Address(["Flat 12, Kingsley Court, 145-147 Long Acre Industrial Estate Road"], "Newcastle upon Tyne", "",
                 "NE99 1AA", "GB")
    page = open_pdf(render_letter(english(address=uk, recipient_name="Amelia Jones"))).pages[0]
    lines = [ln.replace("\u00a0", " ") for ln in _window_lines(page, "A4")]
    assert any("NE99 1AA" in ln for ln in lines), lines
