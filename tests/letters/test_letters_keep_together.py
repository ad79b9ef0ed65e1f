"""Short parentheticals ("(نسخهٔ ۲)") and a number with its unit ("۲ کیلوگرم", "12 kg") never break across
lines: proven on the printed page, read back."""

from __future__ import annotations

import pytest
from letterkit import MM, english, open_pdf, persian, visual_lines

from letters import LAYOUTS, render_letter
from letters.textlayout import TextStyle, keep_together, wrap_text
from letters.typefaces import stack_for_language

A4 = LAYOUTS["A4"]
BODY = dict(top=A4.body_top * MM, bottom=(A4.page_height - A4.margin_bottom) * MM)
FILLER_FA = "لطفاً راهنمای کاربر را بخوانید"


def _lines_holding(lines, *parts: str):
    return [ln for ln in lines if any(p in w.logical or p in w.text for w in ln.words for p in parts)]


def test_a_short_persian_parenthetical_stays_on_one_printed_line():
    started_a_line = 0
    for words in range(1, 16):
        body = " ".join([FILLER_FA] * words) + " کتاب «راهنما» (نسخهٔ ۲) را ببینید."
        page = open_pdf(render_letter(persian(body=body, digits="arabext"))).pages[0]
        lines = visual_lines(page, **BODY)
        holding = _lines_holding(lines, "نسخ", "۲")
        assert len(holding) == 1, [ln.text for ln in lines]
        line = holding[0]
        texts = [w.text for w in line.words]
        i = next(k for k, w in enumerate(line.words) if "نسخ" in w.logical)
        # (ه + hamza above prints as the one glyph ۀ.) Right to left: "(نسخهٔ" and then, to its left, "۲)" (brackets mirrored on the glyphs).
        assert "۲" in line.words[i - 1].text, texts
        assert any(ch in "()" for ch in line.words[i].text + line.words[i - 1].text)
        # The unit went to the next line whole where its first word alone would still have fitted.
        if line.words[-1] is line.words[i]:
            started_a_line += 1
    assert started_a_line, "no filler length put the parenthetical at a line's start: the check proved nothing"


def test_a_number_and_its_unit_stay_together_in_print():
    for words in range(1, 16):
        body = " ".join([FILLER_FA] * words) + " بسته‌ای به وزن ۲ کیلوگرم برای شما فرستادیم."
        page = open_pdf(render_letter(persian(body=body))).pages[0]
        lines = visual_lines(page, **BODY)
        holding = _lines_holding(lines, "کیلوگرم")
        assert len(holding) == 1
        words_ = holding[0].words
        i = next(k for k, w in enumerate(words_) if "کیلوگرم" in w.logical)
        # The number stands to the right of its unit on the same line (right to left: "۲ کیلوگرم").
        assert i + 1 < len(words_) and words_[i + 1].text == "۲", [w.text for w in words_]


@pytest.mark.parametrize("text, kept", [
    ("see (version 2) here", "(version\u00a02)"),
    ("a (very long parenthetical that goes on and on) b", None),
    ("send 12 kg now", "12\u00a0kg"),
    ("ارسال ۲ کیلوگرم بار", "۲\u00a0کیلوگرم"),
    ("call +44 20 7946 0000. Then we", "0000. Then"),
])
def test_what_is_kept_together(text, kept):
    out = keep_together(text)
    if kept is None:
        assert out == text   # a long parenthetical breaks like any sentence
    else:
        assert kept in out


def test_english_number_and_unit_on_the_fast_path():
    style = TextStyle(stack_for_language("en"), 10.5, 15)
    for words in range(1, 20):
        text = "word " * words + "a parcel of 12 kg (version 2) arrived."
        lines = [ln.text.replace("\u00a0", " ") for ln in wrap_text(text, style, 60 * MM, False)]
        assert any("12 kg" in ln for ln in lines), lines
        assert any("(version 2)" in ln for ln in lines), lines
    page = open_pdf(render_letter(english(body="word " * 14 + "a parcel of 12 kg (version 2) arrived."))).pages[0]
    assert any("12 kg" in ln.text.replace("\u00a0", " ") for ln in visual_lines(page, **BODY))
