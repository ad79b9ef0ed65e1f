"""Staff settings, the admin's pages and the error pages in a real browser, at phone width, in Persian and Arabic."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.browser.conftest import login
from tests.factories import customer, sale_completed, staff

PHONE = {"width": 390, "height": 844}


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width}px wide at 390"


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def test_a_persian_caller_switches_her_pages_to_arabic_on_a_phone(app, live_server, phone):
    staff(app, "sara@example.com", "onboarding", name="Sara Ahmadi", locale="fa", timezone="Asia/Tehran",
          languages=["fa"])
    login(phone, live_server, "sara@example.com")
    phone.wait_for_url("**/calls/")
    phone.click("header details.menu > summary")  # the phone's menu
    phone.click("header a.me >> text=Sara Ahmadi")  # her name in the header opens her settings
    phone.wait_for_url("**/settings")
    assert phone.locator("html").get_attribute("dir") == "rtl"
    assert phone.locator("h1").inner_text() == "تنظیمات من"
    _no_sideways_scroll(phone)
    phone.check("input[name=locale][value=ar]")
    phone.check("input[name=languages][value=ar]")
    phone.fill("#timezone", "Asia/Dubai")
    phone.click("button[type=submit] >> text=ذخیرهٔ تنظیمات")
    phone.wait_for_selector("[role=status]")
    assert phone.locator("html").get_attribute("lang") == "ar"
    assert phone.locator("h1").inner_text() == "إعداداتي"
    assert "حُفظت إعداداتك" in phone.locator("[role=status]").inner_text()
    assert phone.locator("input[name=languages][value=fa]").is_checked()
    assert phone.locator("input[name=languages][value=ar]").is_checked()
    _no_sideways_scroll(phone)
    # A wrong zone: told in Arabic, what was typed stays
    phone.fill("#timezone", "Dubai")
    phone.click("form.settings button[type=submit]")
    assert "المنطقة الزمنية" in phone.locator("[role=alert]").inner_text()
    assert phone.input_value("#timezone") == "Dubai"
    _no_sideways_scroll(phone)


def test_the_admin_reads_an_event_and_its_payload_in_arabic_on_a_phone(app, client, signer, queue, live_server,
                                                                         phone):
    staff(app, "admin@example.com", "admin", locale="ar", timezone="Asia/Dubai")
    signer.post(client, sale_completed(cust=customer(name="ليلى حداد")))
    queue.drain()
    login(phone, live_server, "admin@example.com")
    phone.wait_for_url("**/admin/events/")  # the admin lands on the events, on the tab with something in it
    assert phone.locator(".tabs a[aria-current=page]").inner_text().startswith("طُبِّق")
    _no_sideways_scroll(phone)
    phone.locator("table a").first.click()
    phone.wait_for_selector("#event-payload")
    payload = phone.locator("#event-payload")
    assert payload.get_attribute("dir") == "ltr"
    assert phone.evaluate("getComputedStyle(document.querySelector('#event-payload')).direction") == "ltr"
    assert "ليلى حداد" in payload.inner_text() and '"sale_id": "S1"' in payload.inner_text()
    assert "ما أُرسل" in phone.locator("main").inner_text()
    _no_sideways_scroll(phone)
    phone.click("#event-customer")
    phone.wait_for_url("**/customers/C1")


def test_admin_staff_and_token_pages_fit_a_phone_in_persian(app, live_server, phone):
    staff(app, "admin@example.com", "admin", locale="fa")
    staff(app, "sara@example.com", "onboarding", name="سارا احمدی", languages=["fa", "en"])
    login(phone, live_server, "admin@example.com")
    phone.wait_for_url("**/admin/events/")
    for path in ("/admin/staff/", "/admin/tokens/", "/settings"):
        phone.goto(live_server + path)
        assert phone.locator("html").get_attribute("dir") == "rtl"
        _no_sideways_scroll(phone)
    phone.goto(live_server + "/admin/staff/")
    row = phone.locator("tr", has_text="سارا احمدی")
    assert "فارسی" in row.inner_text()
    row.locator("details.languages summary").click()
    row.locator("input[name=languages][value=ar]").check()
    row.locator("button", has_text="ذخیرهٔ زبان‌ها").click()
    phone.wait_for_selector("[role=status]")
    assert "زبان‌های سارا احمدی ذخیره شد" in phone.locator("[role=status]").inner_text()


def test_a_forbidden_page_on_a_phone_leads_the_mail_room_home(app, live_server, phone):
    staff(app, "post@example.com", "print", locale="ar")
    login(phone, live_server, "post@example.com")
    phone.wait_for_url("**/letters/")  # the mail room lands on its print batches
    phone.goto(live_server + "/admin/events/")
    assert "ليس لديك صلاحية الوصول إلى هذه الصفحة" in phone.locator("h1").inner_text()
    _no_sideways_scroll(phone)
    phone.locator("main a.button").click()
    phone.wait_for_url("**/letters/")
