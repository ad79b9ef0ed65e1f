"""Marketing builds a referral program on a phone: sees the preview chart (mirrored in Persian), saves it; a rule the
insult guard trips is refused with the reason next to the field, in the reader's language, and nothing is saved."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from retention.extensions import db
from retention.referrals.models import ReferralProgram
from tests.browser.conftest import PHONE, login
from tests.factories import staff


def _fits(page) -> None:
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    assert wide <= PHONE["width"], f"{page.url} is {wide} px wide at {PHONE['width']}"


@pytest.mark.parametrize("language", ["fa", "en"])
def test_marketing_builds_a_program_with_the_preview_and_saves_it(app, live_server, page, language):
    staff(app, f"maya-{language}@example.com", "marketing", name="Maya Karimi", locale=language)
    page.set_viewport_size(PHONE)
    login(page, live_server, f"maya-{language}@example.com")
    page.goto(live_server + "/referrals/")
    page.click("#new-program")
    page.fill("#f-name", "مشتریان راضی" if language == "fa" else "Happy customers")
    page.fill("#f-reward_percent", "4")
    page.click("#preview-button")
    chart = page.locator("#preview-chart")
    chart.wait_for()
    _fits(page)
    assert page.get_attribute("html", "dir") == ("rtl" if language == "fa" else "ltr")
    columns = page.locator("#preview-chart .plot").first.locator(".col")
    assert columns.count() >= 10
    first, last = columns.first.bounding_box(), columns.last.bounding_box()
    # The lowest purchase value is where the reader starts: on the right in Persian, on the left in English.
    assert (first["x"] > last["x"]) == (language == "fa")
    assert page.locator("#preview-ok").is_visible()
    assert page.locator("#preview-table tbody tr").count() == columns.count()
    assert page.input_value("#f-reward_percent") == "4"  # the preview keeps what was typed
    assert db.session.scalar(select(func.count()).select_from(ReferralProgram)) == 0
    page.click("#save-button")
    page.wait_for_url("**/referrals/programs/*")
    assert page.locator(".flash").is_visible()
    db.session.expire_all()
    saved = db.session.scalar(select(ReferralProgram))
    assert saved is not None and saved.reward_percent == 4


def test_a_rule_that_trips_the_guard_is_refused_with_the_reason(app, live_server, page):
    staff(app, "maya-fa@example.com", "marketing", name="Maya Karimi", locale="fa")
    page.set_viewport_size(PHONE)
    login(page, live_server, "maya-fa@example.com")
    page.goto(live_server + "/referrals/programs/new")
    page.fill("#f-name", "پاداش کم")
    page.fill("#f-reward_cap", "20")  # 20 dollars on a purchase of 10,000 is 0.2%, below the guard's 1%
    page.click("#save-button")
    reason = page.locator("#err-reward_cap")
    reason.wait_for()
    text = reason.inner_text()
    assert "نگهبان" in text and "۱۰٬۰۰۰" in text and "۲۰" in text  # the guard, the purchase value, the reward
    assert page.get_attribute("#f-reward_cap", "aria-invalid") == "true"
    assert page.input_value("#f-name") == "پاداش کم"
    assert page.locator("#preview-trips").is_visible()
    assert page.locator("#preview-chart .col.trips").count() >= 1
    _fits(page)
    assert db.session.scalar(select(func.count()).select_from(ReferralProgram)) == 0
