"""Onboarding staff in a real browser: open My calls, log an outcome, see it on the timeline; in Persian and
English, on a desktop and on a 390 px phone."""
from __future__ import annotations

import datetime as dt

import pytest

from retention.tick import run as tick
from tests.browser.conftest import PHONE, login
from tests.factories import customer, sale_completed, staff

UTC = dt.timezone.utc


def _a_call_for(app, client, signer, *, caller_locale: str, caller_zone: str, country: str, cust: dict):
    from retention.extensions import db
    from retention.journeys.service import ensure_default_journey

    ensure_default_journey(db.session, dt.datetime.now(UTC))
    staff(app, "caller@example.com", "onboarding", timezone=caller_zone, country=country, locale=caller_locale,
          work_start="00:00", work_end="23:59")
    sold = dt.datetime.now(UTC) - dt.timedelta(days=4)
    signer.post(client, sale_completed(cust=cust, occurred_at=sold))
    tick(dt.datetime.now(UTC))


def _no_sideways_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width} px wide"


def test_log_a_call_outcome_in_persian_and_see_it_on_the_timeline(app, client, signer, live_server, page):
    _a_call_for(app, client, signer, caller_locale="fa", caller_zone="Asia/Tehran", country="IR",
                cust=customer("C7", name="زهرا محمدی", locale="fa", timezone="Asia/Tehran", phone="+989121234567"))
    login(page, live_server, "caller@example.com")
    page.goto(live_server + "/calls/")
    assert page.locator("html").get_attribute("dir") == "rtl"  # Persian staff get a right-to-left page
    card = page.locator("article.call[data-customer=C7]")
    assert "زهرا محمدی" in card.inner_text()
    assert card.locator("p[lang=fa]").get_attribute("dir") == "rtl"  # the script, in the customer's language
    assert "سلام" in card.locator("p[lang=fa]").inner_text()
    assert "وقت ایران" in card.locator(".due-customer").inner_text()  # whose clock, in Persian
    assert card.locator("a[href='tel:+989121234567']").count() == 1
    # the outcome starts empty: logging without choosing one is stopped by the browser
    assert card.locator("select[name=outcome]").input_value() == ""
    card.get_by_label("نتیجه", exact=True).select_option("reached")
    card.get_by_label("حال مشتری چطور بود؟").select_option("happy")
    card.get_by_label("یادداشت‌ها").fill("راضی است، the espresso machine works")
    card.get_by_role("button", name="ثبت نتیجه").click()
    page.wait_for_selector("[role=status]")
    assert "نتیجهٔ «پاسخ داد» برای زهرا محمدی ثبت شد." in page.locator("[role=status]").inner_text()

    page.goto(live_server + "/customers/C7")
    timeline = page.locator("#timeline")
    assert "راضی است، the espresso machine works" in timeline.inner_text()
    assert page.locator("tr[data-step=check_in_call]").get_attribute("data-status") == "done"


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1280, "height": 900}], ids=["phone", "desktop"])
def test_log_a_call_back_in_english_a_bad_time_keeps_the_notes(app, client, signer, live_server, browser, viewport):
    _a_call_for(app, client, signer, caller_locale="en", caller_zone="Europe/London", country="GB",
                cust=customer("C8", name="Layla Haddad"))
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        login(page, live_server, "caller@example.com")
        page.goto(live_server + "/calls/")
        assert page.locator("html").get_attribute("dir") == "ltr"
        _no_sideways_scroll(page)
        card = page.locator("article.call[data-customer=C8]")
        assert "(customer's clock: United Arab Emirates Time)" in card.locator(".due-customer").inner_text()
        assert "(your clock: United Kingdom Time)" in card.locator(".due-mine").inner_text()
        assert card.locator("p[lang=ar]").get_attribute("dir") == "rtl"  # read to her in Arabic

        card.get_by_label("Outcome").select_option("call_back")
        card.get_by_label("Notes").fill("wants a call after Friday prayers")
        card.get_by_label("Call back at (your clock: United Kingdom Time)").fill("2020-01-01T10:00")
        card.get_by_role("button", name="Log outcome").click()
        page.wait_for_selector(".field-error")
        card = page.locator("article.call[data-customer=C8]")
        assert "Choose a time between now and" in card.locator(".field-error").inner_text()
        assert card.get_by_label("Notes").input_value() == "wants a call after Friday prayers"
        assert card.get_by_label("Outcome").input_value() == "call_back"
        _no_sideways_scroll(page)

        later = (dt.datetime.now(UTC) + dt.timedelta(days=2)).astimezone(
            dt.timezone(dt.timedelta(0))).strftime("%Y-%m-%dT11:00")
        card.get_by_label("Call back at (your clock: United Kingdom Time)").fill(later)
        card.get_by_role("button", name="Log outcome").click()
        page.wait_for_selector("[role=status]")
        assert "Saved: call back for Layla Haddad." in page.locator("[role=status]").inner_text()

        # snoozing asks first
        card = page.locator("article.call[data-customer=C8]").first
        page.once("dialog", lambda d: d.accept())
        card.get_by_role("button", name="Snooze").click()
        page.wait_for_selector("[role=status]")
        assert "Snoozed: Layla Haddad is due" in page.locator("[role=status]").inner_text()
        _no_sideways_scroll(page)
    finally:
        context.close()


def test_show_more_upcoming_calls_on_a_phone_in_persian(app, client, signer, live_server, browser):
    from sqlalchemy import select

    from retention.calls import adhoc
    from retention.customers.models import Customer
    from retention.extensions import db
    from tests.factories import event

    caller = staff(app, "caller@example.com", "onboarding", timezone="Asia/Tehran", country="IR", locale="fa",
                   work_start="00:00", work_end="23:59")
    signer.post(client, event("customer.upserted", {"customer": customer(
        "C9", name="زهرا محمدی", locale="fa", timezone="Asia/Tehran", phone="+989121234567")}))
    now = dt.datetime.now(UTC)
    tick(now)
    person = db.session.scalar(select(Customer).where(Customer.external_id == "C9"))
    upcoming = [adhoc.open_call(person, purpose="follow_up", owner=caller, now=now, actor="test",
                                due_at=now + dt.timedelta(days=2, hours=k)) for k in range(12)]
    db.session.commit()
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        login(page, live_server, "caller@example.com")
        page.goto(live_server + "/calls/")
        assert page.locator("html").get_attribute("dir") == "rtl"
        assert page.locator("#upcoming article.call").count() == 10  # the next ten in full
        more = page.locator("#upcoming-more")
        assert "۱۰" in more.inner_text() and "۱۲" in more.inner_text()  # in Persian digits
        link = more.get_by_role("link", name="نمایش ۲ تماس دیگر")
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]  # on the screen, no sideways scroll
        _no_sideways_scroll(page)
        link.click()
        page.wait_for_url("**/calls/?upcoming=12#call-*")
        assert page.locator("#upcoming article.call").count() == 12
        assert page.locator("#upcoming-more").count() == 0
        # it lands on the first card it added
        top = page.locator(f"#call-{upcoming[10].id}").evaluate("e => e.getBoundingClientRect().top")
        assert 0 <= top < PHONE["height"]
        _no_sideways_scroll(page)
    finally:
        context.close()
