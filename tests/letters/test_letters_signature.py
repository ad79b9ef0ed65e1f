"""The handwriting-style signature stands in line with the typed name under it, inside the margin."""

from __future__ import annotations

import pytest
from letterkit import MM, arabic, english, open_pdf, persian

from letters import LAYOUTS, render_letter

A4 = LAYOUTS["A4"]
RIGHT = (A4.page_width - A4.margin_right) * MM
LEFT = A4.margin_left * MM


@pytest.mark.parametrize("make, name", [(arabic, "ليلى ناصر"), (persian, "سارا احمدی")])
def test_an_arabic_script_signature_ends_at_the_right_margin(make, name):
    page = open_pdf(render_letter(make(signer_name=name, handwriting_signature=True))).pages[0]
    signature = [c for c in page.chars if c["size"] > 15]
    assert signature and {c["fontname"].split("+")[1] for c in signature} == {"ArefRuqaa-Regular"}
    # Drawn at the size it was measured at: it ends where the typed name and the text column end.
    assert max(c["x1"] for c in signature) == pytest.approx(RIGHT, abs=1.0)
    assert max(c["size"] for c in signature) < 26


def test_a_latin_signature_starts_at_the_left_margin():
    page = open_pdf(render_letter(english(signer_name="Emma Clarke", handwriting_signature=True))).pages[0]
    signature = [c for c in page.chars if c["size"] > 15]
    assert min(c["x0"] for c in signature) == pytest.approx(LEFT, abs=1.0)
