"""Marketing edits an Arabic letter template and a journey condition through the form, in Arabic and English:
placeholders read whole inside right-to-left text, errors come in the page's language, the editor fits 1280 px
and stacks its steps at 390 px."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from retention.extensions import db
from retention.journeys import conditions
from retention.journeys import service as journeys
from retention.postal import service as postal
from retention.tick import run as tick
from tests.browser.conftest import login
from tests.factories import customer, sale_completed, staff

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
SHOTS = Path("/tmp/editors-screens")
ARABIC = re.compile("[\u0600-\u06ff]")


@pytest.fixture
def editors_world(app, client, signer):
    journeys.ensure_default_journey(db.session, NOW)
    postal.ensure_default_templates(db.session, NOW)
    db.session.commit()
    signer.post(client, sale_completed("S1", cust=customer("C1", name="محمد الحسيني", locale="ar"), occurred_at=NOW))
    tick(NOW + dt.timedelta(hours=12))


def _no_sideways_scroll(page, width: int) -> None:
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    assert wide <= width, f"{page.url} is {wide} px wide at {width}"


def _reads_left_to_right(page, selector: str) -> bool:
    """Within the element, the first '{' is drawn left of the last '}' (the placeholder is not mirrored)."""
    return page.evaluate("""(sel) => {
        const el = document.querySelector(sel);
        const node = el.firstChild;
        const at = (i) => { const r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + 1);
                            return r.getBoundingClientRect(); };
        const text = node.textContent;
        return at(0).left < at(text.length - 1).left && text.startsWith("{{") && text.endsWith("}}");
    }""", selector)


@pytest.mark.parametrize("language", ["ar", "en"])
def test_marketing_edits_an_arabic_template_and_a_journey_condition(app, editors_world, live_server, page, language):
    SHOTS.mkdir(exist_ok=True)
    staff(app, f"maya-{language}@example.com", "marketing", name="Maya Karimi", locale=language)
    login(page, live_server, f"maya-{language}@example.com")

    # --- the Arabic welcome letter --------------------------------------------------------------
    page.goto(live_server + "/letters/templates/welcome/ar")
    assert page.get_attribute("html", "dir") == ("rtl" if language == "ar" else "ltr")
    page.wait_for_function("() => document.getElementById('preview').dataset.state === 'ok'")
    assert page.get_attribute("#body", "dir") == "rtl"   # the text follows the letter's language
    page.fill("#body", "مرحباً ، شكراً لاختيارك متجرنا.")
    page.focus("#body")
    page.evaluate("() => { const b = document.getElementById('body'); b.selectionStart = b.selectionEnd = 7; }")
    page.click("button[data-insert='{{ customer.name }}']")   # inserted where the cursor is
    assert page.input_value("#body") == "مرحباً {{ customer.name }}، شكراً لاختيارك متجرنا."
    # the reading view shows the placeholder whole, left to right, inside the Arabic sentence
    placeholder = "#reading bdi.ph"
    assert page.inner_text(placeholder) == "{{ customer.name }}"
    assert _reads_left_to_right(page, placeholder)
    arabic_word = page.evaluate("""() => { const r = document.createRange(); const t = document.getElementById('reading').firstChild;
        r.setStart(t, 0); r.setEnd(t, 6); return r.getBoundingClientRect().left; }""")
    assert arabic_word > page.locator(placeholder).bounding_box()["x"]  # "مرحباً" stands right of it, as read
    page.locator("#reading").screenshot(path=str(SHOTS / f"reading-{language}.png"))
    page.locator("#body").screenshot(path=str(SHOTS / f"textarea-{language}.png"))
    # a variable that does not exist: said in the page's language, with the ones that do
    page.fill("#body", "مرحباً {{ customer.nickname }}")
    page.wait_for_function("() => document.getElementById('preview-error').textContent.includes('customer.nickname')")
    message = page.inner_text("#preview-error")
    assert "customer.nickname" in message and "customer.first_name" in message
    assert bool(ARABIC.search(message.split("customer.", 1)[0])) == (language == "ar")
    assert page.get_attribute("#preview", "data-state") == "error"
    page.fill("#body", "مرحباً {{ customer.name }}، شكراً لاختيارك متجرنا.")
    page.wait_for_function("() => document.getElementById('preview').dataset.state === 'ok'")
    _no_sideways_scroll(page, 1280)
    page.click("#save-button")
    page.wait_for_selector("[role=status]")
    status = page.inner_text("[role=status]")
    assert ("٢" if language == "ar" else "2") in status
    assert postal.current_template(db.session, "welcome", "ar").body.startswith("مرحباً {{ customer.name }}")

    # --- a journey condition from the form --------------------------------------------------------
    page.goto(live_server + "/journeys/first-90-days/edit")
    _no_sideways_scroll(page, 1280)
    step = "#step-6"   # Day 45 check-in: no condition yet
    assert page.is_hidden(f"{step} input[name='condition-6']")   # the form is shown, the rule hidden
    page.select_option(f"{step} select[name='cond_fact-6-0']", "latest_nps")
    ops = page.eval_on_selector(f"{step} select[name='cond_op-6-0']", "s => Array.from(s.options).map(o => o.value)")
    assert "<=" in ops and "in" not in ops   # comparisons that fit a score
    page.select_option(f"{step} select[name='cond_op-6-0']", "<=")
    page.fill(f"{step} [name='cond_value-6-0']", "6")
    assert page.input_value(f"{step} input[name='condition-6']") == "latest_nps <= 6"  # the rule it writes
    page.click(f"{step} [data-add-row]")
    page.select_option(f"{step} select[name='cond_fact-6-1']", "open_complaint")
    page.select_option(f"{step} select[name='cond_value-6-1']", "true")
    page.select_option(f"{step} select[name='cond_join-6']", "any")
    assert page.input_value(f"{step} input[name='condition-6']") == "latest_nps <= 6 or open_complaint"
    page.locator(step).screenshot(path=str(SHOTS / f"condition-{language}.png"))
    page.check("input[name=choice][value=keep]")
    page.once("dialog", lambda d: d.accept())
    page.click("#save-button")
    page.wait_for_url(re.compile(r".*/journeys/first-90-days/versions$"))
    saved = next(s for s in journeys.current_version(db.session, "first-90-days").steps if s.key == "check_in_day_45")
    assert saved.condition == conditions.to_json(conditions.parse("latest_nps <= 6 or open_complaint"))
    # the history says who changed what
    row = page.locator("tr[data-version='2']")
    assert "Maya Karimi" in row.inner_text()
    assert ("تغيّرت خطوة واحدة" if language == "ar" else "1 step changed") in row.inner_text()

    # --- at phone width the steps stack as cards, nothing scrolls sideways --------------------------
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server + "/journeys/first-90-days/edit")
    _no_sideways_scroll(page, 390)
    boxes = [page.locator(f"#step-{i}").bounding_box() for i in (0, 1)]
    assert boxes[1]["y"] > boxes[0]["y"] + boxes[0]["height"] - 1 and all(b["width"] <= 390 for b in boxes)
    for url in ("/journeys/", "/journeys/first-90-days/versions", "/letters/templates/",
                "/letters/templates/welcome/ar", "/letters/templates/welcome/ar/versions?a=1&b=2"):
        page.goto(live_server + url)
        _no_sideways_scroll(page, 390)
