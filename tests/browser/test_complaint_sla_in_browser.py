"""The complaint queue and trends pages on a phone, in each language: breaches marked and time left in the reader's
words and digits; the weekly chart reads from the right in Arabic and Persian (this week at the left end there)."""
from __future__ import annotations

import pytest

from tests.browser.conftest import LANGUAGES

DIGITS = {"en": "0123456789", "ar": "٠١٢٣٤٥٦٧٨٩", "fa": "۰۱۲۳۴۵۶۷۸۹"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_queue_marks_breaches_in_the_readers_words(demo_site, language):
    from flask_babel import force_locale, gettext

    page = demo_site.context("onboarding", language).new_page()
    page.goto(demo_site.url + "/complaints/queue")
    with demo_site.app.test_request_context(), force_locale(language):
        assert page.locator("main h1").inner_text().strip() == gettext("Complaint queue")
        missed = gettext("Missed")
    breached = page.locator("#queue tr[data-state='breached']")
    assert breached.count() >= 1, "the demo's overdue cases are not marked"
    cell = breached.first.locator("td.left").inner_text()
    assert missed in cell
    digits = {c for c in cell if c.isdigit()}
    assert digits and digits <= set(DIGITS[language]), f"{language} queue shows digits {sorted(digits)}"
    # Most pressing first: the rows' states run breached, then the rest.
    states = page.locator("#queue tbody tr").evaluate_all("rows => rows.map(r => r.dataset.state)")
    assert states == sorted(states, key=lambda s: s != "breached")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390
    page.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_weekly_chart_is_mirrored_in_right_to_left(demo_site, language):
    page = demo_site.context("marketing", language).new_page()
    page.goto(demo_site.url + "/complaints/trends")
    figure = page.locator("#weekly-chart figure").first
    weeks = figure.locator(".plot .week")
    assert weeks.count() == 8
    first, last = weeks.first.bounding_box(), weeks.last.bounding_box()
    plot, axis = figure.locator(".plot").bounding_box(), figure.locator(".axis").bounding_box()
    if language in ("ar", "fa"):
        assert first["x"] > last["x"], "the oldest week is not on the right"
        assert axis["x"] >= plot["x"] + plot["width"] - 1, "the count axis is not on the right"
    else:
        assert first["x"] < last["x"], "the oldest week is not on the left"
        assert axis["x"] + axis["width"] <= plot["x"] + 1, "the count axis is not on the left"
    numbers = figure.locator(".axis").inner_text() + page.locator("#times").inner_text()
    digits = {c for c in numbers if c.isdigit()}
    assert digits and digits <= set(DIGITS[language]), f"{language} trends show digits {sorted(digits)}"
    page.close()
