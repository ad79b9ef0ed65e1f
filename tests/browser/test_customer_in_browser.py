"""The customer page in Persian on a phone, in a real browser: nothing off-screen, timeline details under
their titles on the reading side, a skip that asks first."""
from __future__ import annotations

from retention.calls.service import log_outcome
from retention.extensions import db
from tests.browser.conftest import login
from tests.customers.test_customer_page import _call, world  # noqa: F401 (the fixture)

# The rendered extent of an element's text (not its box, which spans the whole line either way).
TEXT_BOX = """el => { const r = document.createRange(); r.selectNodeContents(el);
  const b = r.getBoundingClientRect(); return {left: b.left, right: b.right, top: b.top, bottom: b.bottom}; }"""


def test_persian_customer_page_on_a_phone(app, world, live_server, browser):  # noqa: F811
    log_outcome(db.session, _call("check_in_call").id, staff=world["sara"], outcome="no_answer",
                now=world["now"], notes="the espresso machine works")  # an English note inside a Persian page
    db.session.commit()
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        login(page, live_server, "sara@example.com")
        page.wait_for_load_state()
        page.goto(live_server + "/customers/C7")
        assert page.locator("html").get_attribute("dir") == "rtl"
        assert page.evaluate("document.documentElement.scrollWidth") <= 391, "the page scrolls sideways at 390 px"
        for selector in ("table.plan", "#timeline", "#contact"):
            box = page.locator(selector).first.bounding_box()
            assert box["x"] >= -1 and box["x"] + box["width"] <= 391, f"{selector} is off-screen"

        entries = page.locator("#timeline li:has(.detail), #timeline li:has(.private)")
        assert entries.count() >= 2
        for i in range(entries.count()):
            li = entries.nth(i)
            title = li.locator(".title").evaluate(TEXT_BOX)
            for part in (".detail", ".private"):
                if li.locator(part).count():
                    detail = li.locator(part).evaluate(TEXT_BOX)
                    assert detail["top"] >= title["bottom"] - 1, "a detail beside its title, not under it"
                    # right to left: the detail starts where its title starts, on the right
                    assert abs(detail["right"] - title["right"]) <= 2, \
                        f"{li.inner_text()!r}: detail at {detail}, title at {title}"
        note = page.locator("#timeline .private", has_text="the espresso machine works")
        assert note.count() == 1

        page.screenshot(path="/tmp/customer-fa-390.png", full_page=True)

        # Skipping a step asks first: dismissed, nothing happens; accepted, the step is skipped.
        row = page.locator("tr[data-step=how_is_it_going_call]")
        page.once("dialog", lambda d: d.dismiss())
        row.locator("button", has_text="رد کردن").click()
        assert page.locator("tr[data-step=how_is_it_going_call]").get_attribute("data-status") == "scheduled"
        page.once("dialog", lambda d: d.accept())
        row.locator("button", has_text="رد کردن").click()
        page.wait_for_selector("tr[data-step=how_is_it_going_call][data-status=skipped]")
        assert "یکی از کارکنان آن را رد کرد" in page.locator("tr[data-step=how_is_it_going_call]").inner_text()
    finally:
        context.close()
